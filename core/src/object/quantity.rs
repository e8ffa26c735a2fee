//! Resource quantities (`100m`, `1Gi`, `1e3`): parsing, exact arithmetic, canonical formatting.
