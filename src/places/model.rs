//! Places: accommodation establishments and tourist sites.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::error::FieldErrors;

pub const ACCOMMODATION_TYPES: [&str; 7] = [
    "hotel",
    "resort",
    "homestay",
    "guesthouse",
    "apartment",
    "hostel",
    "other",
];

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum PlaceKind {
    Accommodation,
    Attraction,
}

impl PlaceKind {
    pub fn as_str(self) -> &'static str {
        match self {
            PlaceKind::Accommodation => "accommodation",
            PlaceKind::Attraction => "attraction",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "accommodation" => Some(PlaceKind::Accommodation),
            "attraction" => Some(PlaceKind::Attraction),
            _ => None,
        }
    }
}

/// A place as the API shows it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Place {
    pub id: i64,
    pub kind: PlaceKind,
    pub name: String,
    pub address: String,
    pub ward: String,
    pub accommodation_type: Option<String>,
    pub class: Option<i16>,
    pub rooms: Option<i32>,
    pub beds: Option<i32>,
    pub status: String,
    pub season_months: Vec<i16>,
    /// What the poster's QR code opens: PUBLIC_BASE_URL/c/{code}.
    pub checkin_url: Option<String>,
    pub code: Option<String>,
    pub code_issued_at: Option<DateTime<Utc>>,
    pub qr_png_url: String,
    pub qr_svg_url: String,
    pub created_at: DateTime<Utc>,
}

/// Create or change a place. On create, `kind`, `name` and `ward` are
/// required, and an accommodation's `address` (which every guest's police
/// notification gives); a change cannot blank that address.
#[derive(Debug, Default, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PlaceInput {
    /// accommodation or attraction (create only)
    pub kind: Option<String>,
    pub name: Option<String>,
    pub address: Option<String>,
    /// A configured ward's name (former names are understood).
    pub ward: Option<String>,
    /// hotel, resort, homestay, guesthouse, apartment, hostel or other
    pub accommodation_type: Option<String>,
    /// Stars, 1 to 5.
    pub class: Option<i16>,
    pub rooms: Option<i32>,
    pub beds: Option<i32>,
    /// open, closed or seasonal
    pub status: Option<String>,
    /// Months (1-12) a seasonal place is open.
    pub season_months: Option<Vec<i16>>,
}

/// Checks shared by create and update; `kind` is the place's kind.
pub fn check(input: &PlaceInput, kind: PlaceKind, errors: &mut FieldErrors) {
    if let Some(name) = &input.name {
        let n = name.trim().chars().count();
        if n == 0 || n > 200 {
            errors.add("name", "length", "a name has 1 to 200 characters");
        }
    }
    if kind == PlaceKind::Accommodation
        && input.address.as_ref().is_some_and(|a| a.trim().is_empty())
    {
        errors.add(
            "address",
            "required",
            "give the accommodation's address: the police notification gives it",
        );
    }
    if input
        .address
        .as_ref()
        .is_some_and(|a| a.chars().count() > 300)
    {
        errors.add(
            "address",
            "too_long",
            "an address has at most 300 characters",
        );
    }
    if let Some(t) = &input.accommodation_type {
        if kind == PlaceKind::Attraction {
            errors.add(
                "accommodation_type",
                "not_accommodation",
                "only accommodations have a type",
            );
        } else if !ACCOMMODATION_TYPES.contains(&t.as_str()) {
            errors.add(
                "accommodation_type",
                "type_value",
                format!("must be one of {}", ACCOMMODATION_TYPES.join(", ")),
            );
        }
    }
    if input.class.is_some_and(|c| !(1..=5).contains(&c)) {
        errors.add("class", "class_range", "a class is 1 to 5 stars");
    }
    for (field, value) in [("rooms", input.rooms), ("beds", input.beds)] {
        if value.is_some_and(|v| !(0..=100_000).contains(&v)) {
            errors.add(field, "count_range", "must be a number from 0 to 100000");
        }
    }
    beds_for_rooms(input.rooms, input.beds, errors);
    if let Some(status) = &input.status {
        if !["open", "closed", "seasonal"].contains(&status.as_str()) {
            errors.add("status", "status_value", "must be open, closed or seasonal");
        }
    }
    if let Some(months) = &input.season_months {
        if months.iter().any(|m| !(1..=12).contains(m)) {
            errors.add(
                "season_months",
                "month_range",
                "months are numbers from 1 to 12",
            );
        }
    }
    if input.status.as_deref() == Some("seasonal")
        && input.season_months.as_ref().is_none_or(Vec::is_empty)
    {
        errors.add(
            "season_months",
            "required",
            "a seasonal place lists the months it is open",
        );
    }
}

/// Every room has a bed at least: fewer beds than rooms is a typing mistake
/// (the two swapped, or a digit lost) that would put occupancy off for
/// every month after. Checked once both are known.
pub fn beds_for_rooms(rooms: Option<i32>, beds: Option<i32>, errors: &mut FieldErrors) {
    if let (Some(rooms), Some(beds)) = (rooms, beds) {
        if (0..=100_000).contains(&rooms) && (0..rooms).contains(&beds) {
            errors.add(
                "beds",
                "fewer_than_rooms",
                format!("{beds} beds for {rooms} rooms: every room has a bed at least"),
            );
        }
    }
}
