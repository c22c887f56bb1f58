//! Rules and mutes from the user's config file (docs/config.md). The file is read outside the
//! core (`crate::config`); the detector receives the result. User rules are tried after the
//! built-in table and before the `unknown` fallback, one `RegexSet` for all of them. Muted ids
//! (built-in, state or user rules) raise no flags.

use std::collections::BTreeSet;

use regex::{Regex, RegexSet};

use super::text_rules::{Classification, short};
use crate::model::{Severity, Source};

/// One rule of the user's own.
#[derive(Debug, Clone)]
pub struct UserRule {
    /// Leaked once when the config is loaded: flags carry `&'static str` ids, and a process
    /// loads one config.
    pub id: &'static str,
    pub source: Source,
    pub severity: Severity,
    pub regex: Regex,
    /// May name capture groups as `$name` or `${name}` (`$$` for a dollar sign).
    pub summary: String,
    pub next_step: String,
}

impl UserRule {
    /// A rule; `Err` when `regex` does not compile.
    pub fn new(
        id: &str,
        source: Source,
        severity: Severity,
        regex: &str,
        summary: &str,
        next_step: &str,
    ) -> Result<Self, regex::Error> {
        let regex = regex::RegexBuilder::new(regex)
            .size_limit(1 << 22)
            .build()?;
        Ok(UserRule {
            id: Box::leak(id.to_string().into_boxed_str()),
            source,
            severity,
            regex,
            summary: summary.to_string(),
            next_step: next_step.to_string(),
        })
    }
}

/// The user's rules and muted ids.
#[derive(Debug, Clone, Default)]
pub struct UserRules {
    rules: Vec<UserRule>,
    set: Option<RegexSet>,
    muted: BTreeSet<String>,
}

impl UserRules {
    pub fn new(rules: Vec<UserRule>, muted: impl IntoIterator<Item = String>) -> Self {
        let set = (!rules.is_empty()).then(|| {
            RegexSet::new(rules.iter().map(|r| r.regex.as_str()))
                .expect("each pattern compiled on its own")
        });
        UserRules {
            rules,
            set,
            muted: muted.into_iter().collect(),
        }
    }

    pub fn rules(&self) -> &[UserRule] {
        &self.rules
    }

    pub fn muted(&self) -> &BTreeSet<String> {
        &self.muted
    }

    pub fn is_muted(&self, rule: &str) -> bool {
        !self.muted.is_empty() && self.muted.contains(rule)
    }

    /// The first user rule of `source` (in file order) that matches `text`.
    pub fn classify(&self, source: Source, text: &str) -> Option<Classification> {
        let set = self.set.as_ref()?;
        let text = crate::model::byte_prefix(text, 64 * 1024);
        let index = set
            .matches(text)
            .iter()
            .find(|&i| self.rules[i].source == source)?;
        let rule = &self.rules[index];
        let caps = rule.regex.captures(text)?;
        let mut summary = String::new();
        caps.expand(&rule.summary, &mut summary);
        Some(Classification {
            rule: rule.id,
            severity: rule.severity,
            summary: short(&summary, 300),
            next_step: rule.next_step.clone(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_matching_rule_of_the_source_wins_with_captures() {
        let rules = UserRules::new(
            vec![
                UserRule::new(
                    "app.gateway",
                    Source::Log,
                    Severity::Error,
                    r"payment gateway (?P<gw>\w+) unreachable",
                    "gateway ${gw} is down ($$0 charged)",
                    "page payments",
                )
                .unwrap(),
            ],
            ["ecs.crash_loop".to_string()],
        );
        let c = rules
            .classify(Source::Log, "ERROR payment gateway stripe unreachable")
            .unwrap();
        assert_eq!(c.rule, "app.gateway");
        assert_eq!(c.summary, "gateway stripe is down ($0 charged)");
        assert!(
            rules
                .classify(Source::Cfn, "payment gateway x unreachable")
                .is_none()
        );
        assert!(rules.is_muted("ecs.crash_loop"));
        assert!(!rules.is_muted("app.gateway"));
        assert!(UserRule::new("x", Source::Log, Severity::Warn, "(", "", "").is_err());
    }
}
