//! Failures as every layer carries and logs them: a boxed error of any kind, and an error shown
//! with its causes.

pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// Formats an error with its sources, for logs.
pub struct DisplayChain<'a>(pub &'a (dyn std::error::Error + 'static));

impl std::fmt::Display for DisplayChain<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.0)?;
        let mut source = self.0.source();
        while let Some(s) = source {
            write!(f, ": {s}")?;
            source = s.source();
        }
        Ok(())
    }
}
