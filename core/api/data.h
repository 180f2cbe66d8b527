// Datasets and their mini-batches as the API offers them: a Dataset in host
// memory (from caller views, IDX or CSV files) and a Batcher over it, both from
// core/data, which the C layer reaches only through this header.
#pragma once

#include "core/data/batcher.h"
#include "core/data/csv.h"
#include "core/data/dataset.h"
#include "core/data/stream_batcher.h"
