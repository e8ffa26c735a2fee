//! coxswain
