//! What one phase's work comes to: done (with what it did), skipped (with why), or failed
//! (with the message, and the library error behind it when there is one).

/// A phase that did not fail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Done {
    /// It did its work; the lines say what.
    Ran(Vec<String>),
    /// It had nothing to do, and why.
    Skipped(String),
}

impl Done {
    pub fn ran(line: impl Into<String>) -> Done {
        Done::Ran(vec![line.into()])
    }

    pub fn skipped(why: impl Into<String>) -> Done {
        Done::Skipped(why.into())
    }
}

/// A phase that failed: what to tell people, and the error behind it (commands other than
/// `deploy` and `seed` exit with that error's code).
#[derive(Debug)]
pub struct Failed {
    pub message: String,
    pub error: Option<crate::Error>,
}

impl Failed {
    pub fn new(message: impl Into<String>) -> Failed {
        Failed {
            message: message.into(),
            error: None,
        }
    }
}

impl From<crate::Error> for Failed {
    fn from(e: crate::Error) -> Failed {
        Failed {
            message: e.to_string(),
            error: Some(e),
        }
    }
}
