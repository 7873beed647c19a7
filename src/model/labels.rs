//! The labels OpenFaaS gives meaning to, by name: one place for each.

/// Every function status carries the function's name under this label.
pub const FUNCTION: &str = "faas_function";

/// The scaling labels (OpenFaaS's `com.openfaas.scale.*`); the scaler's policy reads them.
pub const SCALE_MIN: &str = "com.openfaas.scale.min";
pub const SCALE_MAX: &str = "com.openfaas.scale.max";
pub const SCALE_TARGET: &str = "com.openfaas.scale.target";
pub const SCALE_TYPE: &str = "com.openfaas.scale.type";
pub const SCALE_PROPORTION: &str = "com.openfaas.scale.target-proportion";
pub const SCALE_FACTOR: &str = "com.openfaas.scale.factor";
pub const SCALE_ZERO: &str = "com.openfaas.scale.zero";
pub const SCALE_ZERO_DURATION: &str = "com.openfaas.scale.zero-duration";

/// A label's value as every rule reads it: without the blanks around it.
pub fn value<'a>(
    labels: &'a std::collections::BTreeMap<String, String>,
    key: &str,
) -> Option<&'a str> {
    labels.get(key).map(|v| v.trim())
}
