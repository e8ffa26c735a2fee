//! Label selectors (string syntax and matchLabels/matchExpressions) and field selectors.
