//! Which targets each wave of a fleet deploy takes: the canary first (a count of targets, or
//! named ones), then waves that bring the fleet up to a count or a share of its targets
//! each (cumulative: `["10%", "50%", "100%"]` is three waves ending at 10 %, 50 % and all).

use serde::{Deserialize, Serialize};

use crate::config::{Canary, FleetPolicy};
use crate::error::Error;

use super::targets::Target;

/// One wave: its place, a name for people, and the targets it takes (indexes into the
/// fleet's target list).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Wave {
    pub index: usize,
    pub name: String,
    pub targets: Vec<usize>,
}

/// Split `targets` into waves by the policy. Every target is in exactly one wave; empty
/// waves (a share that adds no target) are left out.
pub fn plan(targets: &[Target], policy: &FleetPolicy) -> Result<Vec<Wave>, Error> {
    let total = targets.len();
    let mut taken = vec![false; total];
    let mut waves = Vec::new();
    if let Some(canary) = &policy.canary {
        let chosen: Vec<usize> =
            match canary {
                Canary::Count(n) => (0..(*n).min(total)).collect(),
                Canary::Names(names) => {
                    let mut out = Vec::new();
                    for name in names {
                        let i = targets.iter().position(|t| &t.name == name).ok_or_else(|| {
                        Error::Usage(format!(
                            "the fleet's canary names {name}, which is not one of its targets"
                        ))
                    })?;
                        out.push(i);
                    }
                    out
                }
            };
        for &i in &chosen {
            taken[i] = true;
        }
        if !chosen.is_empty() {
            waves.push(Wave {
                index: 0,
                name: "canary".into(),
                targets: chosen,
            });
        }
    }
    for size in &policy.waves {
        let upto = size.of(total);
        let mut done = taken.iter().filter(|t| **t).count();
        let mut wave = Vec::new();
        for (i, t) in taken.iter_mut().enumerate() {
            if done >= upto {
                break;
            }
            if !*t {
                *t = true;
                wave.push(i);
                done += 1;
            }
        }
        if !wave.is_empty() {
            let index = waves.len();
            waves.push(Wave {
                index,
                name: format!("wave {index}"),
                targets: wave,
            });
        }
    }
    Ok(waves)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{OnCancel, Size, Source};

    fn fleet(n: usize) -> Vec<Target> {
        (0..n)
            .map(|i| Target {
                name: format!("t{i:02}"),
                url: crate::target::DatabaseUrl::parse(&format!("sqlite://t{i}.db")).unwrap(),
                schema: None,
            })
            .collect()
    }

    fn policy(canary: Option<Canary>, waves: Vec<Size>) -> FleetPolicy {
        FleetPolicy {
            source: Source::List(Vec::new()),
            canary,
            waves,
            concurrency: 1,
            error_budget: Size::Count(0),
            gate: None,
            on_cancel: OnCancel::Keep,
            coordination_url: None,
            lease: std::time::Duration::from_secs(30),
        }
    }

    #[test]
    fn canary_then_cumulative_shares() {
        let targets = fleet(20);
        let waves = plan(
            &targets,
            &policy(
                Some(Canary::Count(1)),
                vec![
                    Size::Percent(10.0),
                    Size::Percent(50.0),
                    Size::Percent(100.0),
                ],
            ),
        )
        .unwrap();
        let sizes: Vec<usize> = waves.iter().map(|w| w.targets.len()).collect();
        assert_eq!(sizes, [1, 1, 8, 10]);
        let mut all: Vec<usize> = waves.iter().flat_map(|w| w.targets.clone()).collect();
        all.sort();
        assert_eq!(all, (0..20).collect::<Vec<_>>());
        assert_eq!(waves[0].name, "canary");
    }

    #[test]
    fn named_canary_and_an_unknown_name() {
        let targets = fleet(5);
        let waves = plan(
            &targets,
            &policy(
                Some(Canary::Names(vec!["t03".into()])),
                vec![Size::Percent(100.0)],
            ),
        )
        .unwrap();
        assert_eq!(waves[0].targets, [3]);
        assert_eq!(waves[1].targets, [0, 1, 2, 4]);
        let e = plan(
            &targets,
            &policy(Some(Canary::Names(vec!["nope".into()])), vec![]),
        )
        .unwrap_err();
        assert!(e.to_string().contains("nope"), "{e}");
    }
}
