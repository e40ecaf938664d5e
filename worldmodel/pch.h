// Precompiled header for every target that uses torch (saves ~20 s per translation unit).
#pragma once

#include <torch/torch.h>
