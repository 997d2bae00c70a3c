//! Nationality codes a document may print: ISO 3166-1 alpha-3, plus the
//! codes ICAO Doc 9303 adds (Germany's `D`, the British variants, stateless
//! persons and refugees, United Nations documents, Kosovo).

const ISO_ALPHA3: &str = "\
ABW AFG AGO AIA ALA ALB AND ARE ARG ARM ASM ATA ATF ATG AUS AUT AZE BDI BEL BEN BES BFA BGD BGR BHR BHS \
BIH BLM BLR BLZ BMU BOL BRA BRB BRN BTN BVT BWA CAF CAN CCK CHE CHL CHN CIV CMR COD COG COK COL COM CPV \
CRI CUB CUW CXR CYM CYP CZE DEU DJI DMA DNK DOM DZA ECU EGY ERI ESH ESP EST ETH FIN FJI FLK FRA FRO FSM \
GAB GBR GEO GGY GHA GIB GIN GLP GMB GNB GNQ GRC GRD GRL GTM GUF GUM GUY HKG HMD HND HRV HTI HUN IDN IMN \
IND IOT IRL IRN IRQ ISL ISR ITA JAM JEY JOR JPN KAZ KEN KGZ KHM KIR KNA KOR KWT LAO LBN LBR LBY LCA LIE \
LKA LSO LTU LUX LVA MAC MAF MAR MCO MDA MDG MDV MEX MHL MKD MLI MLT MMR MNE MNG MNP MOZ MRT MSR MTQ MUS \
MWI MYS MYT NAM NCL NER NFK NGA NIC NIU NLD NOR NPL NRU NZL OMN PAK PAN PCN PER PHL PLW PNG POL PRI PRK \
PRT PRY PSE PYF QAT REU ROU RUS RWA SAU SDN SEN SGP SGS SHN SJM SLB SLE SLV SMR SOM SPM SRB SSD STP SUR \
SVK SVN SWE SWZ SXM SYC SYR TCA TCD TGO THA TJK TKL TKM TLS TON TTO TUN TUR TUV TWN TZA UGA UKR UMI URY \
USA UZB VAT VCT VEN VGB VIR VNM VUT WLF WSM YEM ZAF ZMB ZWE";

const ICAO_EXTRA: [&str; 13] = [
    "D", "GBD", "GBN", "GBO", "GBP", "GBS", "XXA", "XXB", "XXC", "XXX", "UNO", "UNA", "UNK",
];
const KOSOVO: &str = "RKS";

/// Whether a document could print this nationality code.
pub fn is_known(code: &str) -> bool {
    ICAO_EXTRA.contains(&code) || code == KOSOVO || (code.len() == 3 && is_iso_alpha3(code))
}

/// A binary search of the list, whose codes sit every four bytes in order
/// (every check-in checks one or two codes).
fn is_iso_alpha3(code: &str) -> bool {
    let list = ISO_ALPHA3.as_bytes();
    let count = list.len().div_ceil(4);
    let (mut low, mut high) = (0, count);
    while low < high {
        let middle = (low + high) / 2;
        match list[middle * 4..middle * 4 + 3].cmp(code.as_bytes()) {
            std::cmp::Ordering::Less => low = middle + 1,
            std::cmp::Ordering::Greater => high = middle,
            std::cmp::Ordering::Equal => return true,
        }
    }
    false
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_list_is_whole_and_well_formed() {
        let codes: Vec<&str> = super::ISO_ALPHA3.split(' ').collect();
        assert_eq!(codes.len(), 249, "ISO 3166-1 has 249 codes");
        assert!(codes
            .iter()
            .all(|c| c.len() == 3 && c.chars().all(|ch| ch.is_ascii_uppercase())));
        assert!(
            codes.windows(2).all(|w| w[0] < w[1]),
            "sorted, no duplicates"
        );
        for code in ["VNM", "KOR", "D", "GBN", "XXA", "RKS"] {
            assert!(super::is_known(code), "{code}");
        }
        for code in &codes {
            assert!(super::is_known(code), "{code}: found by the search");
        }
        for code in [
            "AAA", "ABX", "VNN", "ZZZ", "XYZ", "VN", "EN", "", "vnm", "VNM ",
        ] {
            assert!(!super::is_known(code), "{code}");
        }
    }
}
