//! What one migration leaves for the next, which migration a version names, and inputs
//! that used to panic.

use super::*;
