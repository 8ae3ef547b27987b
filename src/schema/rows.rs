//! Catalog rows as the engines return them (text, `None` for NULL), read by position.

pub(crate) type Row = Vec<Option<String>>;

/// The value at `i`, empty when NULL.
pub(crate) fn text(row: &Row, i: usize) -> String {
    row.get(i).cloned().flatten().unwrap_or_default()
}

/// The value at `i`, `None` when NULL or empty.
pub(crate) fn opt(row: &Row, i: usize) -> Option<String> {
    row.get(i).cloned().flatten().filter(|s| !s.is_empty())
}
