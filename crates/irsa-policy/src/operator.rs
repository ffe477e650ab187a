//! Condition operators: `[ForAnyValue:|ForAllValues:]<Base>[IfExists]`.
//! Operator names are case-sensitive (IAM rejects `stringEquals` on write);
//! anything else is kept as [`Operator::Unknown`] so the report can say so.

use serde::Serialize;

/// The base comparison of an operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[allow(missing_docs)]
pub enum BaseOperator {
    StringEquals,
    StringNotEquals,
    StringEqualsIgnoreCase,
    StringNotEqualsIgnoreCase,
    StringLike,
    StringNotLike,
    NumericEquals,
    NumericNotEquals,
    NumericLessThan,
    NumericLessThanEquals,
    NumericGreaterThan,
    NumericGreaterThanEquals,
    DateEquals,
    DateNotEquals,
    DateLessThan,
    DateLessThanEquals,
    DateGreaterThan,
    DateGreaterThanEquals,
    Bool,
    BinaryEquals,
    IpAddress,
    NotIpAddress,
    ArnEquals,
    ArnLike,
    ArnNotEquals,
    ArnNotLike,
    Null,
}

const BASES: [(&str, BaseOperator); 27] = [
    ("StringEquals", BaseOperator::StringEquals),
    ("StringNotEquals", BaseOperator::StringNotEquals),
    (
        "StringEqualsIgnoreCase",
        BaseOperator::StringEqualsIgnoreCase,
    ),
    (
        "StringNotEqualsIgnoreCase",
        BaseOperator::StringNotEqualsIgnoreCase,
    ),
    ("StringLike", BaseOperator::StringLike),
    ("StringNotLike", BaseOperator::StringNotLike),
    ("NumericEquals", BaseOperator::NumericEquals),
    ("NumericNotEquals", BaseOperator::NumericNotEquals),
    ("NumericLessThan", BaseOperator::NumericLessThan),
    ("NumericLessThanEquals", BaseOperator::NumericLessThanEquals),
    ("NumericGreaterThan", BaseOperator::NumericGreaterThan),
    (
        "NumericGreaterThanEquals",
        BaseOperator::NumericGreaterThanEquals,
    ),
    ("DateEquals", BaseOperator::DateEquals),
    ("DateNotEquals", BaseOperator::DateNotEquals),
    ("DateLessThan", BaseOperator::DateLessThan),
    ("DateLessThanEquals", BaseOperator::DateLessThanEquals),
    ("DateGreaterThan", BaseOperator::DateGreaterThan),
    ("DateGreaterThanEquals", BaseOperator::DateGreaterThanEquals),
    ("Bool", BaseOperator::Bool),
    ("BinaryEquals", BaseOperator::BinaryEquals),
    ("IpAddress", BaseOperator::IpAddress),
    ("NotIpAddress", BaseOperator::NotIpAddress),
    ("ArnEquals", BaseOperator::ArnEquals),
    ("ArnLike", BaseOperator::ArnLike),
    ("ArnNotEquals", BaseOperator::ArnNotEquals),
    ("ArnNotLike", BaseOperator::ArnNotLike),
    ("Null", BaseOperator::Null),
];

impl BaseOperator {
    /// Negated operators are true when the key is missing and combine values with AND.
    pub fn is_negated(self) -> bool {
        use BaseOperator::*;
        matches!(
            self,
            StringNotEquals
                | StringNotEqualsIgnoreCase
                | StringNotLike
                | NumericNotEquals
                | DateNotEquals
                | NotIpAddress
                | ArnNotEquals
                | ArnNotLike
        )
    }

    /// The positive counterpart of a negated operator (itself otherwise).
    pub fn positive(self) -> BaseOperator {
        use BaseOperator::*;
        match self {
            StringNotEquals => StringEquals,
            StringNotEqualsIgnoreCase => StringEqualsIgnoreCase,
            StringNotLike => StringLike,
            NumericNotEquals => NumericEquals,
            DateNotEquals => DateEquals,
            NotIpAddress => IpAddress,
            ArnNotEquals => ArnEquals,
            ArnNotLike => ArnLike,
            other => other,
        }
    }

    /// The operator's category (IAM user guide, "IAM JSON policy elements: Condition
    /// operators"), which decides how values are compared and whether policy
    /// variables are substituted.
    pub fn family(self) -> Family {
        use BaseOperator::*;
        match self {
            StringEquals
            | StringNotEquals
            | StringEqualsIgnoreCase
            | StringNotEqualsIgnoreCase
            | StringLike
            | StringNotLike => Family::String,
            NumericEquals
            | NumericNotEquals
            | NumericLessThan
            | NumericLessThanEquals
            | NumericGreaterThan
            | NumericGreaterThanEquals => Family::Numeric,
            DateEquals
            | DateNotEquals
            | DateLessThan
            | DateLessThanEquals
            | DateGreaterThan
            | DateGreaterThanEquals => Family::Date,
            Bool => Family::Bool,
            BinaryEquals => Family::Binary,
            IpAddress | NotIpAddress => Family::IpAddress,
            ArnEquals | ArnLike | ArnNotEquals | ArnNotLike => Family::Arn,
            Null => Family::Null,
        }
    }

    /// The operator's name.
    pub fn name(self) -> &'static str {
        BASES
            .iter()
            .find(|(_, b)| *b == self)
            .map(|(n, _)| *n)
            .unwrap_or("?")
    }
}

/// Operator categories.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[allow(missing_docs)]
pub enum Family {
    String,
    Numeric,
    Date,
    Bool,
    Binary,
    IpAddress,
    Arn,
    Null,
}

impl Family {
    /// Whether policy variables are substituted in condition values of this family.
    /// IAM user guide, "IAM policy elements: Variables and tags", section "Condition
    /// element": "You can use a policy variable for Condition values in any condition
    /// that involves the string operators or the ARN operators … You can't use a policy
    /// variable with other operators, such as Numeric, Date, Boolean, Binary, IP
    /// Address, or Null operators." (The condition operators page says the opposite
    /// for `Bool`; [`crate::condition`] treats a variable under `Bool` as undetermined.)
    pub fn substitutes_variables(self) -> bool {
        matches!(self, Family::String | Family::Arn)
    }
}

/// Set qualifier for multivalued keys.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum SetQualifier {
    /// `ForAnyValue:`: true if any request value matches; false when the key is missing.
    ForAnyValue,
    /// `ForAllValues:`: true if every request value matches; **true when the key is missing**.
    ForAllValues,
}

/// A parsed condition operator.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub enum Operator {
    /// A known operator.
    Known {
        /// `ForAnyValue:` / `ForAllValues:`, if present.
        set: Option<SetQualifier>,
        /// The comparison.
        base: BaseOperator,
        /// `...IfExists`: true when the key is missing.
        if_exists: bool,
    },
    /// Not an IAM operator (as written).
    Unknown(String),
}

impl Operator {
    /// Parses an operator name.
    pub fn parse(text: &str) -> Operator {
        let (set, rest) = if let Some(r) = text.strip_prefix("ForAnyValue:") {
            (Some(SetQualifier::ForAnyValue), r)
        } else if let Some(r) = text.strip_prefix("ForAllValues:") {
            (Some(SetQualifier::ForAllValues), r)
        } else {
            (None, text)
        };
        let (rest, if_exists) = match rest.strip_suffix("IfExists") {
            Some(r) => (r, true),
            None => (rest, false),
        };
        match BASES.iter().find(|(n, _)| *n == rest) {
            // `NullIfExists` is not an operator.
            Some((_, BaseOperator::Null)) if if_exists => Operator::Unknown(text.to_string()),
            Some((_, base)) => Operator::Known {
                set,
                base: *base,
                if_exists,
            },
            None => Operator::Unknown(text.to_string()),
        }
    }

    /// The base operator, if known.
    pub fn base(&self) -> Option<BaseOperator> {
        match self {
            Operator::Known { base, .. } => Some(*base),
            Operator::Unknown(_) => None,
        }
    }

    /// The set qualifier, if any.
    pub fn set(&self) -> Option<SetQualifier> {
        match self {
            Operator::Known { set, .. } => *set,
            Operator::Unknown(_) => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_all_forms() {
        assert_eq!(
            Operator::parse("ForAnyValue:StringLikeIfExists"),
            Operator::Known {
                set: Some(SetQualifier::ForAnyValue),
                base: BaseOperator::StringLike,
                if_exists: true
            }
        );
        assert_eq!(Operator::parse("Null").base(), Some(BaseOperator::Null));
        assert!(matches!(
            Operator::parse("NullIfExists"),
            Operator::Unknown(_)
        ));
        assert!(matches!(
            Operator::parse("stringequals"),
            Operator::Unknown(_)
        ));
        assert!(matches!(
            Operator::parse("StringEqual"),
            Operator::Unknown(_)
        ));
        for (name, base) in BASES {
            assert_eq!(Operator::parse(name).base(), Some(base));
            assert_eq!(base.name(), name);
        }
    }

    #[test]
    fn negation_table() {
        assert!(BaseOperator::StringNotLike.is_negated());
        assert_eq!(
            BaseOperator::StringNotLike.positive(),
            BaseOperator::StringLike
        );
        assert!(!BaseOperator::StringEquals.is_negated());
        assert!(!BaseOperator::Null.is_negated());
    }
}
