#!/bin/sh
# Installs the jar and its POM into a local Maven repository (default
# ~/.m2/repository) in Maven's own layout, offline and without Maven's install
# plugin: org/trainkit/trainkit/VERSION/trainkit-VERSION.{jar,pom} and the
# metadata Maven reads. Then a project depends on it as
#   <dependency><groupId>org.trainkit</groupId><artifactId>trainkit</artifactId><version>VERSION</version></dependency>
# Usage: install_to_maven.sh JAR POM [REPOSITORY]
set -eu
jar="$1" pom="$2" repository="${3:-$HOME/.m2/repository}"
version=$(sed -n 's:.*<version>\(.*\)</version>.*:\1:p' "$pom" | head -1)
[ -n "$version" ] || { echo "no <version> in $pom" >&2; exit 1; }
folder="$repository/org/trainkit/trainkit"
mkdir -p "$folder/$version"
cp "$jar" "$folder/$version/trainkit-$version.jar"
cp "$pom" "$folder/$version/trainkit-$version.pom"
stamp=$(date -u +%Y%m%d%H%M%S)
cat > "$folder/$version/maven-metadata-local.xml" <<XML
<?xml version="1.0" encoding="UTF-8"?>
<metadata modelVersion="1.1.0">
  <groupId>org.trainkit</groupId>
  <artifactId>trainkit</artifactId>
  <version>$version</version>
  <versioning>
    <lastUpdated>$stamp</lastUpdated>
  </versioning>
</metadata>
XML
cat > "$folder/maven-metadata-local.xml" <<XML
<?xml version="1.0" encoding="UTF-8"?>
<metadata>
  <groupId>org.trainkit</groupId>
  <artifactId>trainkit</artifactId>
  <versioning>
    <release>$version</release>
    <versions>
      <version>$version</version>
    </versions>
    <lastUpdated>$stamp</lastUpdated>
  </versioning>
</metadata>
XML
echo "installed org.trainkit:trainkit:$version into $repository"
