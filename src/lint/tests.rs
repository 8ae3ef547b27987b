//! Unit tests of the rules: each fires on a minimal example and not on its safe form.
