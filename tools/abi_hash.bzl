"""A generated header holding a plugin's ABI value: a hash of the headers whose
types and signatures cross between libtrainkit and that plugin, so a plugin
from another build is refused (core/base/plugin_library.h) instead of called."""

def abi_hash_header(name, srcs, out, constant, plugin):
    native.genrule(
        name = name,
        srcs = srcs,
        outs = [out],
        cmd = ("hash=$$(cat $(SRCS) | sha256sum | cut -c1-15) && " +
               "printf '// Generated from the headers shared with the %s.\\n#pragma once\\n" % plugin +
               "namespace tk {\\nconstexpr long long %s = 0x%%s;\\n}\\n' $$hash > $@" % constant),
    )
