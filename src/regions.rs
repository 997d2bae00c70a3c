//! Wards of the city and provinces of the country: data, not code. The
//! defaults are the CSV files in `data/`; another city loads its own.

use serde::Deserialize;
use sqlx::PgPool;

const WARDS_CSV: &str = include_str!("../data/wards-vung-tau.csv");
const PROVINCES_CSV: &str = include_str!("../data/provinces-2025.csv");

#[derive(Debug, Deserialize)]
struct Row {
    #[serde(alias = "ward", alias = "province")]
    name: String,
    kind: String,
    /// Former units, separated by `;`.
    former_units: String,
}

fn parse(csv_text: &str) -> anyhow::Result<Vec<(String, String, Vec<String>)>> {
    let mut reader = csv::Reader::from_reader(csv_text.as_bytes());
    let mut rows = Vec::new();
    for row in reader.deserialize::<Row>() {
        let row = row?;
        let former = row
            .former_units
            .split(';')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect();
        rows.push((
            row.name.trim().to_owned(),
            row.kind.trim().to_owned(),
            former,
        ));
    }
    Ok(rows)
}

pub async fn load_defaults(pool: &PgPool) -> anyhow::Result<()> {
    load(pool, WARDS_CSV, PROVINCES_CSV).await
}

/// Insert or update wards and provinces from CSV text (`name,kind,former_units`).
pub async fn load(pool: &PgPool, wards_csv: &str, provinces_csv: &str) -> anyhow::Result<()> {
    let mut tx = pool.begin().await?;
    for (name, kind, former) in parse(wards_csv)? {
        sqlx::query!(
            "INSERT INTO wards (name, kind, former_units) VALUES ($1, $2, $3)
             ON CONFLICT (name) DO UPDATE SET kind = EXCLUDED.kind, former_units = EXCLUDED.former_units",
            name,
            kind,
            &former
        )
        .execute(&mut *tx)
        .await?;
    }
    for (name, kind, former) in parse(provinces_csv)? {
        sqlx::query!(
            "INSERT INTO provinces (name, kind, former_units) VALUES ($1, $2, $3)
             ON CONFLICT (name) DO UPDATE SET kind = EXCLUDED.kind, former_units = EXCLUDED.former_units",
            name,
            kind,
            &former
        )
        .execute(&mut *tx)
        .await?;
    }
    tx.commit().await?;
    Ok(())
}

/// A ward by its current name or one of its former names (case-insensitive).
pub async fn find_ward(pool: &PgPool, name: &str) -> sqlx::Result<Option<(i32, String)>> {
    let row = sqlx::query!(
        "SELECT id, name FROM wards
         WHERE lower(name) = lower($1) OR lower($1) = ANY (SELECT lower(u) FROM unnest(former_units) u)
         ORDER BY lower(name) = lower($1) DESC LIMIT 1",
        name.trim()
    )
    .fetch_optional(pool)
    .await?;
    Ok(row.map(|r| (r.id, r.name)))
}

/// A province by its current name or a former one (before the 2025 merger).
pub async fn find_province(pool: &PgPool, name: &str) -> sqlx::Result<Option<(i32, String)>> {
    let wanted = province_key(name);
    if wanted.is_empty() {
        return Ok(None);
    }
    let rows = sqlx::query!("SELECT id, name, former_units FROM provinces ORDER BY id")
        .fetch_all(pool)
        .await?;
    // A current name wins over a former unit of the same spelling.
    let current = rows.iter().find(|r| province_key(&r.name) == wanted);
    let former = || {
        rows.iter()
            .find(|r| r.former_units.iter().any(|u| province_key(u) == wanted))
    };
    Ok(current.or_else(former).map(|r| (r.id, r.name.clone())))
}

/// How a province's name compares: without accents or case ("ha noi",
/// "Khánh Hoà"), dashes and dots as spaces, and without the "Thành phố",
/// "TP." or "Tỉnh" in front.
pub fn province_key(name: &str) -> String {
    let plain: String = crate::checkin::model::search_key(name)
        .chars()
        .map(|c| if c.is_alphanumeric() { c } else { ' ' })
        .collect();
    let words: Vec<&str> = plain.split_whitespace().collect();
    let rest = match words.as_slice() {
        ["thanh", "pho", rest @ ..] | ["tp", rest @ ..] | ["tinh", rest @ ..] => rest,
        all => all,
    };
    rest.join(" ")
}

pub async fn province_names(pool: &PgPool) -> sqlx::Result<Vec<String>> {
    let mut names = sqlx::query_scalar!("SELECT name FROM provinces ORDER BY name")
        .fetch_all(pool)
        .await?;
    in_vietnamese_order(&mut names);
    Ok(names)
}

pub async fn ward_names(pool: &PgPool) -> sqlx::Result<Vec<String>> {
    let mut names = sqlx::query_scalar!("SELECT name FROM wards ORDER BY name")
        .fetch_all(pool)
        .await?;
    in_vietnamese_order(&mut names);
    Ok(names)
}

/// Names in the order a Vietnamese reader looks for them: by their letters
/// without tone marks (Huế after Hồ Chí Minh, Đà Nẵng among the D's),
/// where the database's byte order put Huế before Hà Nội and every Đ last.
fn in_vietnamese_order(names: &mut [String]) {
    names.sort_by_cached_key(|n| (crate::checkin::model::search_key(n), n.clone()));
}

#[cfg(test)]
mod tests {
    #[test]
    fn province_names_compare_as_people_write_them() {
        use super::province_key;
        assert_eq!(province_key("TP. Hồ Chí Minh"), province_key("Hồ Chí Minh"));
        assert_eq!(province_key("Thành phố Hà Nội"), province_key("ha noi"));
        assert_eq!(province_key("Khánh Hoà"), province_key("Khánh Hòa"));
        assert_eq!(
            province_key("Bà Rịa – Vũng Tàu"),
            province_key("Bà Rịa - Vũng Tàu")
        );
        assert_eq!(province_key("Tỉnh Đồng Nai"), "dong nai");
    }

    #[test]
    fn names_sort_as_a_vietnamese_reader_looks_for_them() {
        let mut names: Vec<String> = [
            "Đồng Nai",
            "Huế",
            "Hà Nội",
            "Cần Thơ",
            "Hưng Yên",
            "Hồ Chí Minh",
            "Đà Nẵng",
            "Gia Lai",
        ]
        .map(String::from)
        .to_vec();
        super::in_vietnamese_order(&mut names);
        assert_eq!(
            names,
            [
                "Cần Thơ",
                "Đà Nẵng",
                "Đồng Nai",
                "Gia Lai",
                "Hà Nội",
                "Hồ Chí Minh",
                "Huế",
                "Hưng Yên"
            ]
        );
    }

    #[test]
    fn bundled_region_files_parse() {
        let wards = super::parse(super::WARDS_CSV).unwrap();
        assert_eq!(wards.len(), 5);
        assert!(wards
            .iter()
            .any(|(n, _, f)| n == "Tam Thắng" && f.contains(&"Phường 8".to_owned())));
        assert_eq!(super::parse(super::PROVINCES_CSV).unwrap().len(), 34);
    }
}
