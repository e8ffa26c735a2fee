//! Tests of the patch module.
