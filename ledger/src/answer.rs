//! The ledger's answers: owned values (they outlive the engine and the
//! transaction) that write to JSON and read back from it. Amounts are
//! decimal strings, times RFC 3339 in UTC.

use crate::time::At;
use serde::{Deserialize, Serialize};
use tollgate::{Bounds, Decimal, Line, Money, Org, Quote, Verdict};

/// Decimals as normalized strings, read back exactly.
pub(crate) mod amount {
    use serde::{Deserialize, Deserializer, Serializer};
    use tollgate::Decimal;

    pub(crate) fn serialize<S: Serializer>(d: &Decimal, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(&d.normalize())
    }

    /// A decimal string, or a number read from its text (a payment
    /// provider's export may write either).
    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Decimal, D::Error> {
        let text = match serde_json::Value::deserialize(d)? {
            serde_json::Value::String(s) => s,
            serde_json::Value::Number(n) => n.to_string(),
            other => return Err(serde::de::Error::custom(format_args!("{other} is no amount"))),
        };
        tollgate::parse_decimal(text.trim()).map_err(|e| serde::de::Error::custom(format_args!("amount: {e}")))
    }
}

/// A hold: credits set aside for a run in flight.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Hold {
    /// Its id (`settle --hold ID`).
    pub id: i64,
    /// Credits held: the quote's charged high estimate.
    #[serde(with = "amount")]
    pub amount: Decimal,
    /// When it is released if not settled.
    pub expires_at: At,
}

/// Why a reserve was refused because the price changed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PriceChanged {
    /// `PRICE_CHANGED`.
    pub code: String,
    /// The fingerprint the caller priced with.
    pub priced_with: String,
    /// The fingerprint of the ledger's engine, which made `quote`.
    pub current: String,
}

/// The answer of `reserve`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Reserved {
    /// Allowed: the hold was written. Denied: nothing was written.
    pub verdict: Verdict,
    /// The hold, when allowed.
    pub hold: Option<Hold>,
    /// The quote made on the state read in the same transaction (with every
    /// reason when denied).
    pub quote: Quote<'static>,
    /// Set when the caller priced with another engine: denied, with the
    /// current quote.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub price_changed: Option<PriceChanged>,
}

/// What a hold came to: the receipt of `settle`, and of a released or
/// expired hold.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Receipt {
    /// The receipt's id (the hold's).
    pub id: i64,
    /// The hold.
    pub hold_id: i64,
    /// The organization.
    pub org: String,
    /// `settled`, `released` or `expired`.
    pub state: String,
    /// The tool run, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool: Option<String>,
    /// When the hold was made.
    pub reserved_at: At,
    /// When it was settled, released or expired.
    pub closed_at: At,
    /// Credits held.
    #[serde(with = "amount")]
    pub reserved: Decimal,
    /// Credits taken from the balance.
    #[serde(with = "amount")]
    pub charged: Decimal,
    /// Credits of the hold given back: `reserved − charged`, at least 0.
    #[serde(with = "amount")]
    pub released: Decimal,
    /// What the run cost beyond what the balance could pay: owed, recorded
    /// here, never taken below zero.
    #[serde(with = "amount")]
    pub uncollected: Decimal,
    /// The balance before and after.
    #[serde(with = "amount")]
    pub balance_before: Decimal,
    /// The balance after.
    #[serde(with = "amount")]
    pub balance_after: Decimal,
    /// `[card] version` of the rates the hold was reserved (and settled) under.
    pub rates_version: String,
    /// The fingerprint of that engine.
    pub fingerprint: String,
    /// What ran, line by line (none for a released or expired hold).
    pub lines: Vec<Line<'static>>,
    /// The exact cost of what ran, and what the card rounds it to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub total: Option<Bounds>,
    /// The journal entries the settlement wrote.
    pub entries: Vec<i64>,
}

/// One entry of the journal: every change of a balance.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Entry {
    /// Its id, in the order written.
    pub id: i64,
    /// The organization.
    pub org: String,
    /// When.
    pub at: At,
    /// `top_up`, `grant`, `charge` or `expire`.
    pub kind: String,
    /// Credits added (or, below zero, taken).
    #[serde(with = "amount")]
    pub amount: Decimal,
    /// The balance after it.
    #[serde(with = "amount")]
    pub balance_after: Decimal,
    /// The hold a charge settles.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hold_id: Option<i64>,
    /// The payment provider's reference of a top-up.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payment_ref: Option<String>,
    /// What a top-up cost.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub price: Option<Money>,
    /// Why a grant was made.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// When a grant's credits expire.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<At>,
}

impl Entry {
    /// An entry of `kind` with nothing else to say (its id is assigned
    /// when written).
    pub(crate) fn new(org: String, at: At, kind: &str, amount: Decimal, balance_after: Decimal) -> Entry {
        Entry {
            id: 0,
            org,
            at,
            kind: kind.to_string(),
            amount,
            balance_after,
            hold_id: None,
            payment_ref: None,
            price: None,
            reason: None,
            expires_at: None,
        }
    }
}

/// A refusal by the policies of a billing action (`top_up`, `grant`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Refusal {
    /// `ROLE_NOT_PERMITTED`.
    pub code: String,
    /// One line for people.
    pub message: String,
    /// The organization's billing page.
    pub billing_link: String,
}

/// The answer of `top_up` and `grant`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Credited {
    /// Allowed: the entry was written. Denied: nothing was written.
    pub verdict: Verdict,
    /// The journal entry.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub entry: Option<Entry>,
    /// Why not, when denied.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refusal: Option<Refusal>,
    /// The balance after.
    #[serde(with = "amount")]
    pub balance: Decimal,
    /// The balance less open holds.
    #[serde(with = "amount")]
    pub available: Decimal,
}

/// An organization as the ledger holds it: the engine's organization state
/// (ready for `quote`), and what open holds leave of the balance.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct State {
    /// The state the engine checks: balance, plan, status, usage (with the
    /// tool-run windows the ledger counts), spend controls.
    #[serde(flatten)]
    pub org: Org,
    /// `balance − open holds`.
    #[serde(with = "amount")]
    pub available: Decimal,
    /// Credits in open holds.
    #[serde(with = "amount")]
    pub held: Decimal,
}

/// Read back from what `Serialize` writes: the organization's fields and
/// `available` and `held` beside them.
impl<'de> Deserialize<'de> for State {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        use serde::de::Error;
        let mut map = serde_json::Map::deserialize(d)?;
        let mut take = |key: &str| -> Result<Decimal, D::Error> {
            let v = map.remove(key).ok_or_else(|| D::Error::missing_field("available"))?;
            let text = v.as_str().ok_or_else(|| D::Error::custom(format_args!("`{key}` is no decimal string")))?;
            Decimal::from_str_exact(text).map_err(D::Error::custom)
        };
        let (available, held) = (take("available")?, take("held")?);
        let org = Org::from_json("state", &serde_json::Value::Object(map).to_string()).map_err(D::Error::custom)?;
        Ok(State { org, available, held })
    }
}

/// The journal of an organization over a time range.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Statement {
    /// The organization.
    pub org: String,
    /// The balance before the first entry listed.
    #[serde(with = "amount")]
    pub opening: Decimal,
    /// The balance after the last: `opening + Σ amount`.
    #[serde(with = "amount")]
    pub closing: Decimal,
    /// The entries, in order, each with the balance after it.
    pub entries: Vec<Entry>,
}

/// The answer of `expire`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Expired {
    /// Holds past their time to live, now released.
    pub holds: Vec<i64>,
    /// Granted credits past their expiry, taken from the balance.
    pub entries: Vec<Entry>,
}

/// A payment as the payment provider records it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Payment {
    /// The provider's reference (the top-up's `payment_ref`).
    #[serde(rename = "ref", alias = "reference")]
    pub reference: String,
    /// What was paid.
    #[serde(with = "amount")]
    pub amount: Decimal,
    /// ISO currency code.
    pub currency: String,
    /// When, if the export says.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub at: Option<At>,
}

/// A top-up and its payment whose amounts disagree.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Mismatch {
    /// The ledger's entry.
    pub entry: Entry,
    /// The provider's record.
    pub payment: Payment,
}

/// Top-ups against the payment provider's records.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Reconciliation {
    /// Top-ups with a payment of the same reference, amount and currency.
    pub matched: Vec<Entry>,
    /// Payments no top-up records.
    pub missing_in_ledger: Vec<Payment>,
    /// Top-ups no payment records.
    pub missing_at_provider: Vec<Entry>,
    /// Same reference, another amount or currency.
    pub amount_differs: Vec<Mismatch>,
}

/// Reads a payment provider's records: JSON (a list of `{ref, amount,
/// currency, at?}`) or CSV with a header row naming the same columns.
pub fn read_payments(name: &str, text: &str) -> Result<Vec<Payment>, crate::LedgerError> {
    let bad = |e: String| crate::LedgerError::BadInput(format!("{name}: {e}"));
    if text.trim_start().starts_with('[') {
        return serde_json::from_str(text).map_err(|e| bad(e.to_string()));
    }
    let mut reader = csv::ReaderBuilder::new().trim(csv::Trim::All).from_reader(text.as_bytes());
    let headers = reader.headers().map_err(|e| bad(e.to_string()))?.clone();
    for needed in ["ref", "amount", "currency"] {
        if !headers.iter().any(|h| h == needed || (needed == "ref" && h == "reference")) {
            return Err(bad(format!(
                "the header row has no `{needed}` column (it has: {})",
                headers.iter().collect::<Vec<_>>().join(", ")
            )));
        }
    }
    let mut out = Vec::new();
    for row in reader.deserialize::<Payment>() {
        out.push(row.map_err(|e| bad(e.to_string()))?);
    }
    Ok(out)
}
