//! eBay marketplaces the connector knows: the currency an offer on it is priced in, the
//! locale its inventory items are written in (`Content-Language`) and its site.

/// One eBay marketplace (`X-EBAY-C-MARKETPLACE-ID`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Marketplace {
    pub id: &'static str,
    pub currency: &'static str,
    pub locale: &'static str,
    pub site: &'static str,
}

const fn m(
    id: &'static str,
    currency: &'static str,
    locale: &'static str,
    site: &'static str,
) -> Marketplace {
    Marketplace {
        id,
        currency,
        locale,
        site,
    }
}

/// The marketplaces the Sell Inventory API lists offers on (MarketplaceEnum), with their
/// currency and default locale.
pub const MARKETPLACES: &[Marketplace] = &[
    m("EBAY_US", "USD", "en-US", "www.ebay.com"),
    m("EBAY_MOTORS_US", "USD", "en-US", "www.ebay.com"),
    m("EBAY_CA", "CAD", "en-CA", "www.ebay.ca"),
    m("EBAY_GB", "GBP", "en-GB", "www.ebay.co.uk"),
    m("EBAY_AU", "AUD", "en-AU", "www.ebay.com.au"),
    m("EBAY_AT", "EUR", "de-AT", "www.ebay.at"),
    m("EBAY_BE", "EUR", "nl-BE", "www.benl.ebay.be"),
    m("EBAY_CH", "CHF", "de-CH", "www.ebay.ch"),
    m("EBAY_DE", "EUR", "de-DE", "www.ebay.de"),
    m("EBAY_ES", "EUR", "es-ES", "www.ebay.es"),
    m("EBAY_FR", "EUR", "fr-FR", "www.ebay.fr"),
    m("EBAY_HK", "HKD", "zh-HK", "www.ebay.com.hk"),
    m("EBAY_IE", "EUR", "en-IE", "www.ebay.ie"),
    m("EBAY_IN", "INR", "en-IN", "www.ebay.in"),
    m("EBAY_IT", "EUR", "it-IT", "www.ebay.it"),
    m("EBAY_MY", "MYR", "en-US", "www.ebay.com.my"),
    m("EBAY_NL", "EUR", "nl-NL", "www.ebay.nl"),
    m("EBAY_PH", "PHP", "en-PH", "www.ebay.ph"),
    m("EBAY_PL", "PLN", "pl-PL", "www.ebay.pl"),
    m("EBAY_SG", "SGD", "en-US", "www.ebay.com.sg"),
];

impl Marketplace {
    /// The marketplace of an id (`EBAY_US`, any case).
    pub fn find(id: &str) -> Option<Marketplace> {
        let id = id.trim().to_ascii_uppercase();
        MARKETPLACES.iter().find(|m| m.id == id).copied()
    }

    pub fn default_us() -> Marketplace {
        MARKETPLACES[0]
    }
}
