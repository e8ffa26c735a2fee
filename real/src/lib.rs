//! coxswain-real
