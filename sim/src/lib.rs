//! coxswain-sim
