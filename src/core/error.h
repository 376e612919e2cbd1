#pragma once
#include "lowbit/error.h"
