//! Migration versions: the ordering key of a migration, compared by its groups of digits.
//!
//! Every supported layout names a version with digits and separators (`20230101120000`,
//! `1.2`, `2019-02-26-002946`, `0.19/00`). Comparing the digit groups numerically, one group
//! after the other, orders all of them the way their tools do: `2 < 10`, `0.2 < 0.10`, and
//! Diesel's dated versions sort as dates whatever their separators or `-0000` suffix.
//!
//! Layouts whose order is not in their names (a Liquibase changelog's order of changesets,
//! a sqitch plan, Atlas's lexical file order) give each migration an *ordinal* version: its
//! position, shown as its name. Flyway's repeatable `R__` migrations come after every
//! versioned one, in the order of their descriptions.

use std::cmp::Ordering;
use std::fmt;

/// The version of a migration: the original text and its digit groups.
///
/// Ordered by the digit groups compared as numbers (so `2 < 10`), then by the original
/// text so that the order is total. Groups are compared as text with leading zeros
/// stripped, shorter first, because popx versions have 20 digits and overflow `u64`.
/// Displays as the original text.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Version {
    raw: String,
    /// Digit groups without leading zeros (`"007"` -> `"7"`, `"000"` -> `""`).
    groups: Vec<String>,
    rank: Rank,
}

/// Which kind of version: compared first, so that repeatables follow everything else.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
enum Rank {
    /// Digits in the name.
    Numbered,
    /// A position in a plan or changelog, shown as a name.
    Ordinal,
    /// Flyway `R__`: no version, after all the others, ordered by description.
    Repeatable,
}

impl Version {
    /// Parses a version: any text with at least one digit and no whitespace. Layouts check
    /// their own stricter syntax before calling this.
    pub fn parse(raw: &str) -> Option<Version> {
        if raw.is_empty() || raw.chars().any(char::is_whitespace) {
            return None;
        }
        let groups: Vec<String> = raw
            .split(|c: char| !c.is_ascii_digit())
            .filter(|g| !g.is_empty())
            .map(|g| g.trim_start_matches('0').to_string())
            .collect();
        if groups.is_empty() {
            return None;
        }
        Some(Version {
            raw: raw.to_string(),
            groups,
            rank: Rank::Numbered,
        })
    }

    /// The version of a migration whose place is `position` (compared number by number)
    /// and whose name is `raw`: a changeset in a Liquibase changelog, a change in a sqitch
    /// plan, an Atlas file in lexical order.
    pub fn ordinal(raw: impl Into<String>, position: &[usize]) -> Version {
        Version {
            raw: raw.into(),
            groups: position
                .iter()
                .map(|n| n.to_string().trim_start_matches('0').to_string())
                .collect(),
            rank: Rank::Ordinal,
        }
    }

    /// A Flyway repeatable migration's place: after every versioned migration, ordered by
    /// its description (as Flyway orders them).
    pub fn repeatable(description: impl Into<String>) -> Version {
        Version {
            raw: description.into(),
            groups: Vec::new(),
            rank: Rank::Repeatable,
        }
    }

    /// The original text.
    pub fn as_str(&self) -> &str {
        &self.raw
    }

    /// Whether two versions name the same number (`1` and `01`, `1.2` and `1_2`), which
    /// tools that parse versions as numbers cannot tell apart.
    /// Ordinal and repeatable versions are never the same number as anything: a number a
    /// user types is not a position in a plan.
    pub fn same_number(&self, other: &Version) -> bool {
        self.rank == Rank::Numbered && other.rank == Rank::Numbered && self.groups == other.groups
    }

    /// A key equal for versions that are [`Version::same_number`].
    pub(crate) fn number_key(&self) -> String {
        self.groups.join(".")
    }

    fn cmp_groups(&self, other: &Version) -> Ordering {
        for (a, b) in self.groups.iter().zip(&other.groups) {
            let by_value = a.len().cmp(&b.len()).then_with(|| a.cmp(b));
            if by_value != Ordering::Equal {
                return by_value;
            }
        }
        self.groups.len().cmp(&other.groups.len())
    }
}

impl Ord for Version {
    fn cmp(&self, other: &Self) -> Ordering {
        self.rank
            .cmp(&other.rank)
            .then_with(|| self.cmp_groups(other))
            .then_with(|| self.raw.cmp(&other.raw))
    }
}

impl PartialOrd for Version {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.raw)
    }
}

impl serde::Serialize for Version {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.raw)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(s: &str) -> Version {
        Version::parse(s).unwrap_or_else(|| panic!("{s} should parse"))
    }

    fn sorted(input: &[&str]) -> Vec<String> {
        let mut versions: Vec<Version> = input.iter().map(|s| v(s)).collect();
        versions.sort();
        versions.iter().map(ToString::to_string).collect()
    }

    #[test]
    fn numbers_compare_numerically_not_lexically() {
        assert!(v("2") < v("10"));
        assert!(v("0.2") < v("0.10"));
        assert!(v("0.9") < v("0.10"));
        assert_eq!(sorted(&["0.19", "0.2", "0.10"]), ["0.2", "0.10", "0.19"]);
    }

    #[test]
    fn twenty_digit_versions_do_not_overflow() {
        let a = v("20150100000001000000");
        let b = v("20191100000001000005");
        let c = v("99999999999999999999");
        assert!(a < b && b < c);
        assert!(v("999999999999999999999") > c, "21 digits beat 20");
    }

    #[test]
    fn diesel_dates_sort_as_dates() {
        let got = sorted(&[
            "2026-06-03-220228-0000",
            "2019-02-26-002946",
            "00000000000000",
            "2025-08-01-000017",
            "2026-06-03-120211-0000",
            "2019-02-27-170003",
        ]);
        assert_eq!(
            got,
            [
                "00000000000000",
                "2019-02-26-002946",
                "2019-02-27-170003",
                "2025-08-01-000017",
                "2026-06-03-120211-0000",
                "2026-06-03-220228-0000",
            ]
        );
    }

    #[test]
    fn leading_zeros_tie_break_on_text() {
        assert!(v("1").same_number(&v("001")));
        assert_ne!(v("1"), v("001"));
        assert!(v("001") < v("1"), "ties are broken by the original text");
        assert_eq!(v("1.2").number_key(), v("1_2").number_key());
        assert!(v("0") < v("1") && v("000") < v("1"));
    }

    #[test]
    fn a_prefix_sorts_first() {
        assert!(v("2026-06-03-220228") < v("2026-06-03-220228-0000"));
        assert!(v("0.19") < v("0.19/00"));
    }

    #[test]
    fn rejects_text_without_digits_or_with_spaces() {
        assert!(Version::parse("").is_none());
        assert!(Version::parse("abc").is_none());
        assert!(Version::parse("1 2").is_none());
    }

    #[test]
    fn ordinals_follow_positions_and_repeatables_come_last() {
        let a = Version::ordinal("zeta", &[0, 2]);
        let b = Version::ordinal("alpha", &[0, 10]);
        let c = Version::ordinal("beta", &[1, 0]);
        assert!(a < b && b < c, "positions, not names, order ordinals");
        assert_eq!(b.to_string(), "alpha");
        let r1 = Version::repeatable("a view");
        let r2 = Version::repeatable("b view");
        assert!(v("99999999999999") < r1 && r1 < r2);
        assert!(!Version::ordinal("3", &[3]).same_number(&v("3")));
        assert!(!r1.same_number(&Version::repeatable("a view")));
    }

    #[test]
    fn displays_and_serializes_the_original_text() {
        assert_eq!(v("0.19/00").to_string(), "0.19/00");
        assert_eq!(serde_json::to_string(&v("007")).unwrap(), "\"007\"");
    }
}
