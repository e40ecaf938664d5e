// Precompiled header of the eval files that use torch (saves ~20 s per translation unit).
#pragma once

#include <torch/torch.h>
