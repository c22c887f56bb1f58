//! Looking up open flags by borrowed text. The open flags are a `BTreeMap` keyed by
//! [`FlagKey`] (rule, scope), and the rules ask about them several times a tick with a rule id
//! and a scope they hold as text, or as a prefix and a name (`svc:` and a service). Building a
//! key allocates, and a `range` from a partial key costs several times a lookup, so the map
//! lends its keys as [`KeyParts`], which borrowed text can be compared with.

use std::borrow::Borrow;
use std::cmp::Ordering;

use super::FlagKey;

/// A flag key as parts: the rule, then the scope as `prefix` followed by `name`. Ordered
/// exactly as [`FlagKey`] is (rule, then the whole scope), so a lookup finds what the
/// map's own order put there.
pub(super) trait KeyParts {
    fn rule(&self) -> &str;
    /// The scope in two pieces to be read one after the other.
    fn scope(&self) -> (&str, &str);
}

impl KeyParts for FlagKey {
    fn rule(&self) -> &str {
        self.0
    }

    fn scope(&self) -> (&str, &str) {
        (&self.1, "")
    }
}

/// The key of `rule` about `prefix` + `name`, without joining them.
pub(super) struct KeyRef<'a> {
    pub rule: &'a str,
    pub prefix: &'a str,
    pub name: &'a str,
}

impl KeyParts for KeyRef<'_> {
    fn rule(&self) -> &str {
        self.rule
    }

    fn scope(&self) -> (&str, &str) {
        (self.prefix, self.name)
    }
}

impl<'a> Borrow<dyn KeyParts + 'a> for FlagKey {
    fn borrow(&self) -> &(dyn KeyParts + 'a) {
        self
    }
}

impl PartialEq for dyn KeyParts + '_ {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for dyn KeyParts + '_ {}

impl PartialOrd for dyn KeyParts + '_ {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for dyn KeyParts + '_ {
    fn cmp(&self, other: &Self) -> Ordering {
        self.rule()
            .cmp(other.rule())
            .then_with(|| cmp_joined(self.scope(), other.scope()))
    }
}

/// `a.0 + a.1` against `b.0 + b.1`, as strings compare (byte by byte), without joining.
fn cmp_joined(a: (&str, &str), b: (&str, &str)) -> Ordering {
    match (a.1.is_empty(), b.1.is_empty()) {
        (true, true) => a.0.cmp(b.0),
        (true, false) => cmp_with_split(a.0, b),
        (false, true) => cmp_with_split(b.0, a).reverse(),
        (false, false) => {
            let (a, b) = (
                a.0.bytes().chain(a.1.bytes()),
                b.0.bytes().chain(b.1.bytes()),
            );
            a.cmp(b)
        }
    }
}

/// `whole` against `split.0 + split.1`.
fn cmp_with_split(whole: &str, (prefix, name): (&str, &str)) -> Ordering {
    let (whole, prefix) = (whole.as_bytes(), prefix.as_bytes());
    let shared = whole.len().min(prefix.len());
    match whole[..shared].cmp(&prefix[..shared]) {
        // `whole` ends inside the prefix: it comes first, as a prefix of the joined text.
        Ordering::Equal if whole.len() < prefix.len() => Ordering::Less,
        Ordering::Equal => whole[shared..].cmp(name.as_bytes()),
        unequal => unequal,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    const TEXTS: &[&str] = &[
        "",
        "s",
        "sv",
        "svc",
        "svc:",
        "svc:a",
        "svc:ab",
        "svc:b",
        "svc:a:",
        "svd",
        "t",
        "tg:x",
        "cfn:root",
        "Svc:a",
        "svc:é",
        "svc:\u{0}",
    ];

    #[test]
    fn a_split_scope_orders_exactly_as_the_joined_text() {
        for whole in TEXTS {
            for joined in TEXTS {
                for cut in (0..=joined.len()).filter(|&i| joined.is_char_boundary(i)) {
                    let split = (&joined[..cut], &joined[cut..]);
                    let expected = whole.cmp(joined);
                    assert_eq!(
                        cmp_joined((whole, ""), split),
                        expected,
                        "{whole:?} {split:?}"
                    );
                    assert_eq!(
                        cmp_joined(split, (whole, "")),
                        expected.reverse(),
                        "{split:?} {whole:?}"
                    );
                    let other = (&whole[..whole.len() / 2], &whole[whole.len() / 2..]);
                    if whole.is_char_boundary(whole.len() / 2) {
                        assert_eq!(cmp_joined(other, split), expected, "{other:?} {split:?}");
                    }
                }
            }
        }
    }

    #[test]
    fn the_open_map_finds_a_key_by_its_parts_and_only_that_key() {
        let mut open: BTreeMap<FlagKey, usize> = BTreeMap::new();
        let rules = [
            "cfn.root_cause",
            "ecs.crash_loop",
            "ecs.crash_loop_",
            "stall.create",
        ];
        for (i, rule) in rules.iter().enumerate() {
            for (j, scope) in TEXTS.iter().enumerate() {
                open.insert((rule, scope.to_string()), i * 100 + j);
            }
        }
        for (i, rule) in rules.iter().enumerate() {
            for (j, scope) in TEXTS.iter().enumerate() {
                for cut in (0..=scope.len()).filter(|&c| scope.is_char_boundary(c)) {
                    let key = KeyRef {
                        rule,
                        prefix: &scope[..cut],
                        name: &scope[cut..],
                    };
                    assert_eq!(open.get(&key as &dyn KeyParts), Some(&(i * 100 + j)));
                }
            }
        }
        let missing = KeyRef {
            rule: "ecs.crash_loop",
            prefix: "svc:",
            name: "c",
        };
        assert_eq!(open.get(&missing as &dyn KeyParts), None);
    }
}
