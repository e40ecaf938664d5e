// Precompiled header for the agents targets that use torch (saves ~20 s per translation unit).
#pragma once

#include <torch/torch.h>
