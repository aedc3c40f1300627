//! Token estimates and prices.

use std::collections::BTreeMap;

use podsift_core::config::Price;

/// A rough token count: about four characters per token for English text (chars, not bytes).
pub fn estimate_tokens(text: &str) -> u64 {
    (text.chars().count() as u64).div_ceil(4)
}

/// The price of a model, and whether the table knew it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PriceLookup {
    /// USD per million tokens (zero when unknown).
    pub price: Price,
    /// `false`: the model is not in the table and is counted as free (say so to the user).
    pub known: bool,
}

/// The model's name and price for `model_id` (`openai:gpt-4o-mini`): `[llm] model` when set,
/// else the id without its engine prefix.
pub fn price_of(cfg: &podsift_core::config::LlmConfig, model_id: &str) -> (String, PriceLookup) {
    let name = cfg.model.clone().unwrap_or_else(|| {
        model_id
            .split_once(':')
            .map_or(model_id.to_owned(), |(_, m)| m.to_owned())
    });
    let price = lookup(&cfg.prices, &name);
    (name, price)
}

/// Looks up `model` in `prices` (config `llm.prices`, USD per million tokens): exact name
/// first, then case-insensitively, then without a provider prefix (`openai/gpt-4o-mini` →
/// `gpt-4o-mini`, as OpenRouter names models). Unknown → zero price, `known: false`.
pub fn lookup(prices: &BTreeMap<String, Price>, model: &str) -> PriceLookup {
    let found = prices.get(model).copied().or_else(|| {
        let bare = model.rsplit('/').next().unwrap_or(model);
        prices
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(model) || k.eq_ignore_ascii_case(bare))
            .map(|(_, p)| *p)
    });
    match found {
        Some(price) => PriceLookup { price, known: true },
        None => PriceLookup {
            price: Price::default(),
            known: false,
        },
    }
}

/// USD for one call.
pub fn cost_usd(price: Price, prompt_tokens: u64, completion_tokens: u64) -> f64 {
    (prompt_tokens as f64 * price.prompt + completion_tokens as f64 * price.completion) / 1e6
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prices() {
        let mut t = BTreeMap::new();
        t.insert(
            "gpt-4o-mini".to_owned(),
            Price {
                prompt: 0.15,
                completion: 0.6,
            },
        );
        assert!(lookup(&t, "gpt-4o-mini").known);
        assert!(lookup(&t, "openai/GPT-4o-mini").known);
        let unknown = lookup(&t, "llama3");
        assert!(!unknown.known);
        assert_eq!(cost_usd(unknown.price, 1000, 1000), 0.0);
        let c = cost_usd(lookup(&t, "gpt-4o-mini").price, 1_000_000, 1_000_000);
        assert!((c - 0.75).abs() < 1e-9);
        assert_eq!(estimate_tokens("abcdefgh"), 2);
        assert_eq!(estimate_tokens("abcdefghi"), 3);
    }
}
