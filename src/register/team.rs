//! The people of a place: the office gives an establishment its manager; a
//! manager adds and removes their own staff and resets their passwords; one
//! person may work at several places. Every change is audited, and a person
//! removed or given a new password is signed out everywhere at once.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sqlx::PgPool;

use crate::auth::{password, CurrentUser, Role};
use crate::error::{Error, FieldErrors, Result};
use crate::AppState;

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Member {
    pub user_id: i64,
    pub email: String,
    pub role: Role,
    pub added_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewMember {
    pub email: String,
    /// manager or staff
    pub role: Role,
    /// Needed for a new account (10 characters or more); an existing account
    /// keeps its password and gains this place.
    pub password: Option<String>,
}

/// Who may add or remove someone of `role` at `place_id`: the office and
/// admins anyone, a manager of the place only staff.
fn may_manage(user: &CurrentUser, place_id: i64, role: Role) -> Result<()> {
    match (user.role, role) {
        (Role::Admin | Role::Office, Role::Manager | Role::Staff) => Ok(()),
        (Role::Manager, Role::Staff) if user.works_at(place_id) => Ok(()),
        (Role::Manager, _) if user.works_at(place_id) => Err(Error::Forbidden(
            "a manager adds and removes staff; the office appoints managers",
        )),
        (_, Role::Manager | Role::Staff) => Err(Error::Forbidden(
            "only the office or this place's manager manages its people",
        )),
        _ => Err(Error::BadRequest(
            "a place's people are managers or staff".into(),
        )),
    }
}

pub async fn list(pool: &PgPool, place_id: i64) -> Result<Vec<Member>> {
    let rows = sqlx::query!(
        "SELECT u.id, u.email, u.role, m.added_at FROM place_members m JOIN users u ON u.id = m.user_id
         WHERE m.place_id = $1 AND u.disabled_at IS NULL ORDER BY u.role, lower(u.email)",
        place_id
    )
    .fetch_all(pool)
    .await?;
    Ok(rows
        .into_iter()
        .filter_map(|r| {
            Some(Member {
                user_id: r.id,
                email: r.email,
                role: Role::parse(&r.role)?,
                added_at: r.added_at,
            })
        })
        .collect())
}

/// The cached sessions of a user are dropped (their places changed); with
/// `revoke`, the sessions end too.
async fn refresh_sessions(state: &AppState, user_id: i64, revoke: bool) -> Result<()> {
    let hashes: Vec<Vec<u8>> = sqlx::query_scalar!(
        "SELECT token_hash FROM sessions WHERE user_id = $1 AND revoked_at IS NULL AND expires_at > now()",
        user_id
    )
    .fetch_all(&state.db)
    .await?;
    if revoke {
        sqlx::query!(
            "UPDATE sessions SET revoked_at = now() WHERE user_id = $1 AND revoked_at IS NULL",
            user_id
        )
        .execute(&state.db)
        .await?;
    }
    let keys: Vec<String> = hashes
        .iter()
        .map(|h| crate::auth::session_key_of_hash(h))
        .collect();
    state.cache.delete(&keys).await;
    Ok(())
}

/// A manager acts only on accounts that work nowhere else than their own
/// places: someone who also works at another hotel is that hotel's too, and
/// only the office may change their access or password.
async fn within_reach(state: &AppState, user: &CurrentUser, person: i64) -> Result<()> {
    if matches!(user.role, Role::Admin | Role::Office) {
        return Ok(());
    }
    let places: Vec<i64> = sqlx::query_scalar!(
        "SELECT place_id FROM place_members WHERE user_id = $1",
        person
    )
    .fetch_all(&state.db)
    .await?;
    if places.iter().all(|p| user.works_at(*p)) {
        Ok(())
    } else {
        Err(Error::Forbidden(
            "this person also works at another place: ask the tourism office",
        ))
    }
}

/// Add a person to a place, creating their account when the email is new.
pub async fn add(
    state: &AppState,
    user: &CurrentUser,
    place_id: i64,
    new: &NewMember,
) -> Result<Member> {
    may_manage(user, place_id, new.role)?;
    let email = new.email.trim();
    let existing = sqlx::query!(
        "SELECT id, role, disabled_at IS NOT NULL AS \"disabled!\" FROM users WHERE lower(email) = lower($1)",
        email
    )
    .fetch_optional(&state.db)
    .await?;
    let user_id = match existing {
        Some(found) => {
            if found.role != new.role.as_str() || found.disabled {
                return Err(Error::conflict(
                    "account_other_kind",
                    format!("{email} already has an account of another kind; ask an administrator"),
                ));
            }
            within_reach(state, user, found.id).await?;
            sqlx::query!(
                "INSERT INTO place_members (user_id, place_id) VALUES ($1, $2) ON CONFLICT DO NOTHING",
                found.id,
                place_id
            )
            .execute(&state.db)
            .await?;
            refresh_sessions(state, found.id, false).await?;
            found.id
        }
        None => {
            let password = new.password.as_deref().ok_or_else(|| {
                FieldErrors::single(
                    "password",
                    "required",
                    "a new account needs a first password",
                )
            })?;
            crate::auth::repo::create_user(&state.db, email, password, new.role, &[place_id])
                .await?
        }
    };
    crate::audit::record(
        &state.db,
        Some(user.id),
        "team.add",
        Some(place_id),
        Some(email),
        serde_json::json!({"user_id": user_id, "role": new.role}),
    )
    .await?;
    list(&state.db, place_id)
        .await?
        .into_iter()
        .find(|m| m.user_id == user_id)
        .ok_or(Error::NotFound("there is no such person"))
}

/// A person of the place: their role and email.
async fn member(pool: &PgPool, place_id: i64, user_id: i64) -> Result<(Role, String)> {
    let row = sqlx::query!(
        "SELECT u.role, u.email FROM place_members m JOIN users u ON u.id = m.user_id
         WHERE m.place_id = $1 AND m.user_id = $2",
        place_id,
        user_id
    )
    .fetch_optional(pool)
    .await?
    .ok_or(Error::NotFound("this person does not work at this place"))?;
    let role =
        Role::parse(&row.role).ok_or(Error::NotFound("this person does not work at this place"))?;
    Ok((role, row.email))
}

/// Remove a person from a place; with no place left, their account is
/// disabled. Either way they are signed out.
pub async fn remove(
    state: &AppState,
    user: &CurrentUser,
    place_id: i64,
    user_id: i64,
) -> Result<()> {
    // Refused before anything is looked up: who is a member stays unknown
    // to those who may not manage the place.
    user.require_place_admin(place_id)?;
    let (role, email) = member(&state.db, place_id, user_id).await?;
    may_manage(user, place_id, role)?;
    within_reach(state, user, user_id).await?;
    if user_id == user.id {
        return Err(Error::conflict(
            "remove_self",
            "you cannot remove yourself; ask the office",
        ));
    }
    let mut tx = state.db.begin().await?;
    sqlx::query!(
        "DELETE FROM place_members WHERE place_id = $1 AND user_id = $2",
        place_id,
        user_id
    )
    .execute(&mut *tx)
    .await?;
    let left = sqlx::query_scalar!(
        "SELECT count(*) AS \"n!\" FROM place_members WHERE user_id = $1",
        user_id
    )
    .fetch_one(&mut *tx)
    .await?;
    if left == 0 {
        sqlx::query!(
            "UPDATE users SET disabled_at = now() WHERE id = $1",
            user_id
        )
        .execute(&mut *tx)
        .await?;
    }
    crate::audit::record(
        &mut *tx,
        Some(user.id),
        "team.remove",
        Some(place_id),
        Some(&email),
        serde_json::json!({"user_id": user_id, "disabled": left == 0}),
    )
    .await?;
    tx.commit().await?;
    refresh_sessions(state, user_id, true).await
}

/// Give a person of the place a new password; they sign in again with it.
pub async fn reset_password(
    state: &AppState,
    user: &CurrentUser,
    place_id: i64,
    user_id: i64,
    new_password: &str,
) -> Result<()> {
    user.require_place_admin(place_id)?;
    let (role, email) = member(&state.db, place_id, user_id).await?;
    may_manage(user, place_id, role)?;
    within_reach(state, user, user_id).await?;
    password::check_policy(new_password)?;
    let hash = password::hash(new_password.to_owned()).await?;
    sqlx::query!(
        "UPDATE users SET password_hash = $2 WHERE id = $1",
        user_id,
        hash
    )
    .execute(&state.db)
    .await?;
    crate::audit::record(
        &state.db,
        Some(user.id),
        "team.reset_password",
        Some(place_id),
        Some(&email),
        serde_json::json!({"user_id": user_id}),
    )
    .await?;
    refresh_sessions(state, user_id, true).await
}

/// One line of who did what at a place.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Activity {
    pub at: DateTime<Utc>,
    /// The person's email; none for the service itself (automatic check-out).
    pub actor: Option<String>,
    pub action: String,
    pub target: Option<String>,
    /// When the action was on a stay or a guest, by the place's own people,
    /// the guest or the service, and is read by someone who works at the
    /// place: the guest's name (a stay's first guest), while the register
    /// still holds it.
    pub guest: Option<String>,
    /// ... and the stay's room at the time, when it had one.
    pub room: Option<String>,
    pub detail: serde_json::Value,
}

/// The place's audit trail, newest first: for its manager and admins.
/// Read by someone who works at the place (`names`), an action on a stay or
/// a guest names the guest, read from the register now (an id says nothing
/// to a person), and the room the stay had then (its room now, unless a
/// later move tells which one it left), but only when the place's own
/// people, the guest or the service acted: what an inspector or an admin
/// looked at is not told to the place. Once retention has deleted the
/// guest's personal data, the name is gone from here too.
pub async fn activity(
    pool: &PgPool,
    place_id: i64,
    limit: i64,
    names: bool,
) -> Result<Vec<Activity>> {
    let rows = sqlx::query!(
        r#"SELECT a.at, u.email AS "actor?", a.action, a.target, a.detail,
                  gi.full_name AS "guest?", NULLIF(COALESCE(moved.room_then, s.room), '') AS "room?"
           FROM (SELECT * FROM audit_log
                 WHERE place_id = $1 ORDER BY at DESC, id DESC LIMIT $2) a
           LEFT JOIN users u ON u.id = a.actor_id
           -- A stay's or a guest's id (an email or a file number is not),
           -- of an action by the place's own people, the guest or the
           -- service.
           CROSS JOIN LATERAL (
               SELECT CASE WHEN $3
                            AND a.target ~ '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$'
                            AND (a.actor_id IS NULL
                                 OR EXISTS (SELECT FROM place_members m
                                            WHERE m.user_id = a.actor_id AND m.place_id = a.place_id))
                           THEN a.target::uuid END AS id) t
           LEFT JOIN LATERAL (
               (SELECT g.id, g.stay_id FROM guests g WHERE g.id = t.id AND g.place_id = a.place_id)
               UNION ALL
               (SELECT g.id, g.stay_id FROM guests g
                WHERE g.stay_id = t.id AND g.place_id = a.place_id
                ORDER BY g.position LIMIT 1)
               LIMIT 1) g ON true
           LEFT JOIN stays s ON s.id = g.stay_id
           -- The room at the time: the one the stay's next move left
           -- (a stay moved from no room had none), or its room now. Moves
           -- are taken in the order they were written (a move's time is
           -- its transaction's start).
           LEFT JOIN LATERAL (
               SELECT COALESCE(m.detail->>'from', '') AS room_then FROM audit_log m
               WHERE m.target = s.id::text AND m.id > a.id
                 AND m.action = 'stay.correct' AND m.detail->>'field' = 'room'
               ORDER BY m.id
               LIMIT 1) moved ON true
           LEFT JOIN guest_identities gi ON gi.guest_id = g.id
           ORDER BY a.at DESC, a.id DESC"#,
        place_id,
        limit,
        names
    )
    .fetch_all(pool)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| Activity {
            at: r.at,
            actor: r.actor,
            action: r.action,
            target: r.target,
            guest: r.guest,
            room: r.room,
            detail: r.detail,
        })
        .collect())
}

/// Seeing the team: the place's manager, the office and admins.
pub fn may_see(user: &CurrentUser, place_id: i64) -> Result<()> {
    match user.role {
        Role::Admin | Role::Office => Ok(()),
        Role::Manager if user.works_at(place_id) => Ok(()),
        _ => Err(Error::Forbidden(
            "only the office or this place's manager sees its people",
        )),
    }
}

/// Reading the activity, which names stays and rooms: the place's manager
/// and admins (the office sees no guest data).
pub fn may_see_activity(user: &CurrentUser, place_id: i64) -> Result<()> {
    match user.role {
        Role::Admin => Ok(()),
        Role::Manager if user.works_at(place_id) => Ok(()),
        _ => Err(Error::Forbidden(
            "only this place's manager reads its activity",
        )),
    }
}
