package web

import (
	"context"
	"encoding/json"
	"net/http"
	"reflect"
	"slices"
	"strings"

	"github.com/danielgtaylor/huma/v2"
	"github.com/userd/userd/internal/feature/admin"
	"github.com/userd/userd/internal/feature/billing"
	"github.com/userd/userd/internal/feature/collection"
	"github.com/userd/userd/internal/feature/crm"
	"github.com/userd/userd/internal/feature/engagement"
	"github.com/userd/userd/internal/feature/mailq"
	"github.com/userd/userd/internal/feature/moderation"
	"github.com/userd/userd/internal/feature/newsletter"
	"github.com/userd/userd/internal/feature/openid"
	"github.com/userd/userd/internal/feature/rbac"
	"github.com/userd/userd/internal/feature/sponsor"
	"github.com/userd/userd/internal/feature/survey"
	"github.com/userd/userd/internal/feature/synchronization"
	"github.com/userd/userd/internal/feature/vault"
	"github.com/userd/userd/internal/feature/webhook"
)

// metaPerm is the operation metadata key that holds what an operation needs:
// public, anyUser or a permission key.
const metaPerm = "userd-permission"

// metaForms is the operation metadata key that marks an operation that
// takes a form body as well as JSON (see addForms).
const metaForms = "userd-forms"

// What an operation needs, besides permission keys such as "users:read".
const (
	public       = ""          // anyone
	optionalUser = "optional"  // anyone; a signed-in caller is recognised
	anyUser      = "signed-in" // any signed-in user, whatever their roles
)

// Permission keys of the routes below (the migrations seed them).
const (
	accountRead  = "account:read"
	accountWrite = "account:write"
	usersRead    = "users:read"
	usersWrite   = "users:write"
	rolesRead    = "roles:read"
	rolesWrite   = rbac.RolesWrite
	logsRead     = "activity_logs:read"
)

// route is one line of the table of contents.
type route struct {
	method, path string
	id, summary  string
	tag          string
	needs        string // public, anyUser or a permission key
	status       int    // the success status; 200 when zero
}

// routes is the API's table of contents.
func (s *Server) routes() {
	add(s, route{"GET", "/healthz", "healthz", "Liveness: 200 while the process is up", "Service", public, 0}, s.healthz)
	add(s, route{"GET", "/readyz", "readyz", "Readiness: 200 when the database answers and migrations are current, else 503", "Service", public, 0}, s.readyz)

	add(s, route{"POST", "/v1/auth/signup", "signup", "Create a user and sign them in", "Authentication", public, http.StatusCreated}, s.signup)
	add(s, route{"POST", "/v1/auth/login", "login", "Sign in with an email, username or phone number and a password", "Authentication", public, 0}, s.login)
	add(s, route{"POST", "/v1/auth/logout", "logout", "End the current session and its refresh tokens", "Authentication", anyUser, http.StatusNoContent}, s.logout)
	add(s, route{"POST", "/v1/auth/token", "refresh-token", "Trade a refresh token for a new access token and refresh token", "Authentication", public, 0}, s.refresh)
	add(s, route{"POST", "/v1/auth/password/forgot", "forgot-password", "Mail a password reset link (202 whether or not the email is known)", "Authentication", public, http.StatusAccepted}, s.forgotPassword)
	add(s, route{"POST", "/v1/auth/password/reset", "reset-password", "Set a new password with a reset token; ends every session", "Authentication", public, http.StatusNoContent}, s.resetPassword)
	add(s, route{"POST", "/v1/auth/email/verify", "verify-email", "Mark an email address verified with the token mailed to it", "Authentication", public, http.StatusNoContent}, s.verifyEmail)
	add(s, route{"GET", "/v1/auth/oauth/{provider}/start", "oauth-start", "Start an OpenID Connect log-in: 302 to the provider (PKCE, state and nonce)", "Authentication", public, http.StatusFound}, s.oauthStart)
	add(s, route{"GET", "/v1/auth/oauth/{provider}/callback", "oauth-callback", "Finish an OpenID Connect log-in: sets the session cookie, then 302 to redirect_to, or 200 with the log-in body", "Authentication", public, 0}, s.oauthCallback)
	add(s, route{"POST", "/v1/auth/passkeys/register/begin", "passkey-register-begin", "Start registering a passkey for the signed-in user", "Authentication", accountWrite, 0}, s.passkeyRegisterBegin)
	add(s, route{"POST", "/v1/auth/passkeys/register/finish", "passkey-register-finish", "Finish registering a passkey with the browser's credential", "Authentication", accountWrite, http.StatusCreated}, s.passkeyRegisterFinish)
	add(s, route{"POST", "/v1/auth/passkeys/login/begin", "passkey-login-begin", "Start a log-in with a passkey (no user name needed); 429 rate_limited past 100 from one address in 15 minutes", "Authentication", public, 0}, s.passkeyLoginBegin)
	add(s, route{"POST", "/v1/auth/passkeys/login/finish", "passkey-login-finish", "Finish a log-in with the browser's assertion", "Authentication", public, 0}, s.passkeyLoginFinish)
	add(s, route{"POST", "/v1/auth/mfa/verify", "mfa-verify", "Finish a log-in that answered mfa_required, with a TOTP code or a recovery code", "Authentication", public, 0}, s.verifyMFA)
	add(s, route{"GET", "/.well-known/jwks.json", "jwks", "Public keys that verify access tokens", "Service", public, 0}, s.jwks)

	add(s, route{"GET", "/v1/me", "get-me", "The signed-in user, with their roles and effective permissions (with those of the session's active organisation's plans)", "Current user", accountRead, 0}, s.getMe)
	add(s, route{"PATCH", "/v1/me", "update-me", "Change the signed-in user's profile", "Current user", accountWrite, 0}, s.updateMe)
	add(s, route{"DELETE", "/v1/me", "delete-me", "Delete the signed-in user and everything they own", "Current user", accountWrite, http.StatusNoContent}, s.deleteMe)
	add(s, route{"POST", "/v1/me/password", "change-password", "Change the password; ends every other session", "Current user", accountWrite, http.StatusNoContent}, s.changePassword)
	add(s, route{"POST", "/v1/me/email/verification", "resend-verification", "Mail a new email verification link", "Current user", accountWrite, http.StatusAccepted}, s.resendVerification)
	add(s, route{"POST", "/v1/me/mfa/totp", "enroll-totp", "Start a TOTP enrolment: a secret for an authenticator app", "Current user", accountWrite, http.StatusCreated}, s.enrollTOTP)
	add(s, route{"POST", "/v1/me/mfa/totp/confirm", "confirm-totp", "Enable TOTP with a first code; answers ten recovery codes, once", "Current user", accountWrite, 0}, s.confirmTOTP)
	add(s, route{"DELETE", "/v1/me/mfa/totp", "disable-totp", "Disable TOTP with a fresh code or a recovery code", "Current user", accountWrite, http.StatusNoContent}, s.disableTOTP)
	add(s, route{"GET", "/v1/me/passkeys", "list-passkeys", "The user's passkeys", "Current user", accountRead, 0}, s.listPasskeys)
	add(s, route{"DELETE", "/v1/me/passkeys/{id}", "delete-passkey", "Remove a passkey", "Current user", accountWrite, http.StatusNoContent}, s.deletePasskey)
	add(s, route{"GET", "/v1/me/sessions", "list-sessions", "The signed-in user's live sessions, newest first", "Current user", accountRead, 0}, s.listSessions)
	add(s, route{"DELETE", "/v1/me/sessions/{id}", "revoke-session", "End one of the signed-in user's sessions", "Current user", accountWrite, http.StatusNoContent}, s.revokeSession)
	add(s, route{"GET", "/v1/me/consents", "list-consents", "The applications the signed-in user allowed to sign them in through userd's OpenID Provider, and the scopes of each", "OpenID Provider", accountRead, 0}, s.listConsents)
	add(s, route{"DELETE", "/v1/me/consents/{client_id}", "revoke-consent", "Take back a consent: the application's tokens for the user stop working at once, and it asks again next time; audited", "OpenID Provider", accountWrite, http.StatusNoContent}, s.revokeConsent)

	add(s, route{"GET", "/v1/me/dashboard-layout", "get-dashboard-layout", "The user's dashboard layout, with its ETag", "Current user", accountRead, 0}, s.getLayout)
	add(s, route{"PUT", "/v1/me/dashboard-layout", "put-dashboard-layout", "Replace the dashboard layout; If-Match makes it conditional (412 when stale)", "Current user", accountWrite, 0}, s.putLayout)
	add(s, route{"PATCH", "/v1/me/dashboard-layout", "patch-dashboard-layout", "Change the desktop or the mobile layout and keep the other; If-Match makes it conditional (412 when stale)", "Current user", accountWrite, 0}, s.patchLayout)

	add(s, route{"GET", "/v1/me/notifications", "list-notifications", "The user's notifications, newest first (?unread=true for unread ones)", "Current user", accountRead, 0}, s.listNotifications)
	add(s, route{"GET", "/v1/me/notifications/unread-count", "unread-count", "How many notifications are unread", "Current user", accountRead, 0}, s.unreadCount)
	add(s, route{"POST", "/v1/me/notifications/{id}/read", "mark-read", "Mark a notification read", "Current user", accountWrite, http.StatusNoContent}, s.markRead)
	add(s, route{"POST", "/v1/me/notifications/read-all", "mark-all-read", "Mark every notification read; answers how many changed", "Current user", accountWrite, 0}, s.markAllRead)
	add(s, route{"DELETE", "/v1/me/notifications/{id}", "delete-notification", "Delete a notification", "Current user", accountWrite, http.StatusNoContent}, s.deleteNotification)
	addStream(s, route{"GET", "/v1/me/export", "export", "Everything userd holds about the user, as one JSON document streamed as it is read; no secrets", "Current user", accountRead, 0}, s.export, nil)
	addStream(s, route{"GET", "/v1/me/notifications/stream", "notification-stream", "Server-Sent Events: each new notification as it is committed; Last-Event-ID resumes", "Current user", accountRead, 0}, s.stream, eventStream)

	add(s, route{"GET", "/v1/me/referral", "get-referral", "The user's referral (made on first use) and who signed up through it", "Current user", accountRead, 0}, s.getReferral)
	add(s, route{"PUT", "/v1/me/referral", "put-referral", "Choose the referral's slug (409 when taken)", "Current user", accountWrite, 0}, s.putReferral)
	add(s, route{"GET", "/v1/me/referral/referred-users", "list-referred-users", "Every user who signed up through the referral, newest first, in pages; one who deleted their account since still counts, with null fields", "Current user", accountRead, 0}, s.referredUsers)

	add(s, route{"GET", "/v1/me/synchronizations", "list-synchronizations", "The user's synchronizations, newest first", "Synchronizations", accountRead, 0}, s.listSyncs)
	add(s, route{"POST", "/v1/me/synchronizations", "create-synchronization", "Link an external platform account (409 when linked already, or past 100 synchronizations)", "Synchronizations", accountWrite, http.StatusCreated}, s.createSync)
	add(s, route{"GET", "/v1/me/synchronizations/{id}", "get-synchronization", "A synchronization", "Synchronizations", accountRead, 0}, s.getSync)
	add(s, route{"PATCH", "/v1/me/synchronizations/{id}", "update-synchronization", "Change a synchronization: token, expiry, daily time, time zone", "Synchronizations", accountWrite, 0}, s.updateSync)
	add(s, route{"DELETE", "/v1/me/synchronizations/{id}", "delete-synchronization", "Unlink a synchronization and cancel its jobs", "Synchronizations", accountWrite, http.StatusNoContent}, s.deleteSync)
	add(s, route{"POST", "/v1/me/synchronizations/{id}/complete", "complete-synchronization", "Record that a sync finished: sets last_synced_at", "Synchronizations", accountWrite, 0}, s.completeSync)

	add(s, route{"GET", "/v1/me/accounts", "list-accounts", "The user's credential accounts, newest first, with their credentials' metadata", "Credentials vault", accountRead, 0}, s.listAccounts)
	add(s, route{"POST", "/v1/me/accounts", "create-account", "Create a credential account (409 past 100)", "Credentials vault", accountWrite, http.StatusCreated}, s.createAccount)
	add(s, route{"GET", "/v1/me/accounts/{id}", "get-account", "A credential account", "Credentials vault", accountRead, 0}, s.getAccount)
	add(s, route{"PATCH", "/v1/me/accounts/{id}", "rename-account", "Rename a credential account", "Credentials vault", accountWrite, 0}, s.renameAccount)
	add(s, route{"DELETE", "/v1/me/accounts/{id}", "delete-account", "Delete a credential account and its credentials", "Credentials vault", accountWrite, http.StatusNoContent}, s.deleteAccount)
	add(s, route{"GET", "/v1/me/accounts/{id}/credentials/{credential_type}", "get-credential", "A credential's metadata and masked hint; never its secret", "Credentials vault", accountRead, 0}, s.getCredential)
	add(s, route{"PUT", "/v1/me/accounts/{id}/credentials/{credential_type}", "put-credential", "Store or replace a credential; the secret is write-only", "Credentials vault", accountWrite, 0}, s.putCredential)
	add(s, route{"DELETE", "/v1/me/accounts/{id}/credentials/{credential_type}", "delete-credential", "Delete a credential", "Credentials vault", accountWrite, http.StatusNoContent}, s.deleteCredential)
	add(s, route{"POST", "/v1/me/accounts/{id}/credentials/{credential_type}/reveal", "reveal-credential", "The secret in clear: needs a log-in within the last 5 minutes; audited", "Credentials vault", accountWrite, 0}, s.revealCredential)

	add(s, route{"GET", "/v1/users/{id}", "get-user", "A user's public profile with follow counts (and followed_by_me for a signed-in caller)", "Users", optionalUser, 0}, s.getUser)
	add(s, route{"PUT", "/v1/users/{id}/follow", "follow", "Follow a user (204 also when already following; 422 self_follow)", "Users", accountWrite, http.StatusNoContent}, s.follow)
	add(s, route{"DELETE", "/v1/users/{id}/follow", "unfollow", "Stop following a user (204 also when not following)", "Users", accountWrite, http.StatusNoContent}, s.unfollow)
	add(s, route{"GET", "/v1/users/{id}/followers", "followers", "Who follows a user, newest first", "Users", public, 0}, s.followers)
	add(s, route{"GET", "/v1/users/{id}/following", "following", "Whom a user follows, newest first", "Users", public, 0}, s.following)

	add(s, route{"GET", "/v1/items", "get-items", "Several items' counts (up to 100 slugs, in the order asked; my_vote and favorited_by_me for a signed-in caller)", "Engagement", optionalUser, 0}, s.getItems)
	add(s, route{"GET", "/v1/items/{item}", "get-item", "An item's votes and favorites (my_vote and favorited_by_me for a signed-in caller)", "Engagement", optionalUser, 0}, s.getItem)
	add(s, route{"GET", "/v1/items/{item}/comments", "list-comments", "An item's comments (or one comment's replies), newest or oldest first; tombstones of deleted comments that have replies included; hidden comments only for a holder of comments:moderate", "Engagement", optionalUser, 0}, s.listComments)
	add(s, route{"POST", "/v1/items/{item}/comments", "post-comment", "Comment on an item, or reply to a comment (rate-limited per user: 429)", "Engagement", accountWrite, http.StatusCreated}, s.postComment)
	add(s, route{"PATCH", "/v1/items/{item}/comments/{id}", "edit-comment", "Change a comment's text: its author, or a holder of comments:moderate (404 for anyone else)", "Engagement", accountWrite, 0}, s.patchComment)
	add(s, route{"DELETE", "/v1/items/{item}/comments/{id}", "delete-comment", "Delete a comment: its author, or a holder of comments:moderate (404 for anyone else); one with replies stays as a tombstone", "Engagement", accountWrite, http.StatusNoContent}, s.deleteComment)
	add(s, route{"PUT", "/v1/items/{item}/vote", "vote", "Vote an item up (1) or down (-1); changing a vote moves it between the counts", "Engagement", accountWrite, http.StatusNoContent}, s.vote)
	add(s, route{"DELETE", "/v1/items/{item}/vote", "unvote", "Take a vote back (204 also when there was none)", "Engagement", accountWrite, http.StatusNoContent}, s.unvote)
	add(s, route{"PUT", "/v1/items/{item}/favorite", "favorite", "Favorite an item (204 also when it is already)", "Engagement", accountWrite, http.StatusNoContent}, s.favorite)
	add(s, route{"DELETE", "/v1/items/{item}/favorite", "unfavorite", "Stop favoriting an item (204 also when it was not)", "Engagement", accountWrite, http.StatusNoContent}, s.unfavorite)
	add(s, route{"POST", "/v1/items/{item}/views", "view-item", "Count a view of an item: once per item, viewer and UTC day (a signed-in caller is their user, anyone else a keyed hash of their anonymous_id or address and user agent)", "Engagement", optionalUser, http.StatusNoContent}, s.view)
	add(s, route{"GET", "/v1/me/favorites", "list-favorites", "The user's favorite items, newest first", "Engagement", accountRead, 0}, s.listFavorites)
	add(s, route{"GET", "/v1/me/client-profile", "get-client-profile", "The user's client profile (404 client_profile_not_found before their first vote, favorite or PUT)", "Engagement", accountRead, 0}, s.getClientProfile)
	add(s, route{"PUT", "/v1/me/client-profile", "put-client-profile", "Create or replace the user's client profile", "Engagement", accountWrite, 0}, s.putClientProfile)
	add(s, route{"POST", "/v1/reports", "post-report", "Report an item, a comment or a user (one open report per content; rate-limited per reporter)", "Moderation", accountWrite, http.StatusCreated}, s.postReport)
	add(s, route{"GET", "/v1/me/reports", "list-my-reports", "The user's reports and their outcome, newest first", "Moderation", accountRead, 0}, s.myReports)
	add(s, route{"GET", "/v1/me/moderation-history", "my-moderation-history", "The warnings and actions taken on the user's account, newest first (without who took them)", "Moderation", accountRead, 0}, s.myHistory)
	add(s, route{"GET", "/v1/featured-items", "list-featured-items", "The items featured now (within their window), by position then slug", "Engagement", public, 0}, s.listFeatured)
	add(s, route{"POST", "/v1/me/sponsor-ads", "submit-sponsor-ad", "Submit a sponsor ad for an item: pending until an administrator approves it (409 too_many_pending_ads past 50 waiting); the text is kept as written", "Sponsor ads", accountWrite, http.StatusCreated}, s.submitSponsorAd)
	add(s, route{"GET", "/v1/me/sponsor-ads", "list-my-sponsor-ads", "The user's sponsor ads, newest first, with their review", "Sponsor ads", accountRead, 0}, s.listMySponsorAds)
	add(s, route{"GET", "/v1/sponsor-ads/active", "list-active-sponsor-ads", "The approved sponsor ads shown now (starts_at <= now < ends_at), of one item or every item, by starts_at", "Sponsor ads", public, 0}, s.activeSponsorAds)
	add(s, route{"GET", "/v1/rankings", "get-rankings", "Items ranked by score, views, favorites, comments or trending, over a day, week, month or all time (refreshed every minute)", "Engagement", public, 0}, s.rankings)

	add(s, route{"GET", "/v1/orgs", "list-organizations", "The caller's organisations (businesses and teams), newest first, with their role in each", "Organizations", accountRead, 0}, s.listOrgs)
	add(s, route{"POST", "/v1/orgs", "create-organization", "Create a business or a team (a team may belong to a business the caller administers); the caller is its owner. 409 slug_taken, organization_limit", "Organizations", accountWrite, http.StatusCreated}, s.createOrg)
	add(s, route{"GET", "/v1/orgs/{id}", "get-organization", "An organisation of the caller's (404 for anyone who is not a member)", "Organizations", accountRead, 0}, s.getOrg)
	add(s, route{"PATCH", "/v1/orgs/{id}", "update-organization", "Change an organisation's name, slug or metadata: owners and admins", "Organizations", accountWrite, 0}, s.patchOrg)
	add(s, route{"DELETE", "/v1/orgs/{id}", "delete-organization", "Delete an organisation with its members, invitations and teams: owners", "Organizations", accountWrite, http.StatusNoContent}, s.deleteOrg)
	add(s, route{"GET", "/v1/orgs/{id}/members", "list-organization-members", "An organisation's members, with their roles", "Organizations", accountRead, 0}, s.listMembers)
	add(s, route{"PATCH", "/v1/orgs/{id}/members/{user_id}", "update-organization-member", "Change a member's role: admins for admins and members, owners for anyone (409 last_owner)", "Organizations", accountWrite, 0}, s.patchMember)
	add(s, route{"DELETE", "/v1/orgs/{id}/members/{user_id}", "remove-organization-member", "Remove a member, or leave (one's own user id): admins remove admins and members, owners anyone (409 last_owner)", "Organizations", accountWrite, http.StatusNoContent}, s.deleteMember)
	add(s, route{"GET", "/v1/orgs/{id}/invitations", "list-organization-invitations", "An organisation's invitations, newest first: owners and admins", "Organizations", accountRead, 0}, s.listInvitations)
	add(s, route{"POST", "/v1/orgs/{id}/invitations", "create-organization-invitation", "Invite an email address with a role: mails {public-url}/accept-invitation?token=…, valid 7 days; owners and admins (owners alone invite owners). 429 rate_limited past --invitation-limit, 409 too_many_invitations past 100 pending", "Organizations", accountWrite, http.StatusCreated}, s.invite)
	add(s, route{"DELETE", "/v1/orgs/{id}/invitations/{inv_id}", "revoke-organization-invitation", "Revoke a pending invitation: owners and admins (404 invitation_not_found for an accepted one)", "Organizations", accountWrite, http.StatusNoContent}, s.revokeInvitation)
	add(s, route{"POST", "/v1/invitations/accept", "accept-organization-invitation", "Accept an invitation with its token: answers the membership (404 invalid_invitation, 403 invitation_email_mismatch, 409 already_member, organization_limit)", "Organizations", accountWrite, 0}, s.acceptInvitation)
	add(s, route{"POST", "/v1/orgs/{id}/transfer", "transfer-organization", "Make another member an owner; the caller, an owner, becomes an admin", "Organizations", accountWrite, 0}, s.transferOrg)
	add(s, route{"PUT", "/v1/me/active-organization", "put-active-organization", "Choose the session's active organisation (null for none): access tokens then carry org_id, org_role and org_slug, and the session holds the roles of the organisation's plans", "Organizations", accountWrite, 0}, s.putActiveOrg)

	add(s, route{"GET", "/v1/admin/users", "admin-list-users", "Find users, newest first", "Administration", usersRead, 0}, s.adminListUsers)
	add(s, route{"POST", "/v1/admin/users", "admin-create-user", "Create a user with roles", "Administration", usersWrite, http.StatusCreated}, s.adminCreateUser)
	add(s, route{"GET", "/v1/admin/users/{id}", "admin-get-user", "A user with their roles and permissions", "Administration", usersRead, 0}, s.adminGetUser)
	add(s, route{"PATCH", "/v1/admin/users/{id}", "admin-update-user", "Change a user: profile, identifiers, beta flag, status (suspend, ban)", "Administration", usersWrite, 0}, s.adminUpdateUser)
	add(s, route{"GET", "/v1/admin/reports", "admin-list-reports", "The review queue: reports newest first, or (group=content) the reported contents, most reporters first", "Moderation", moderation.ReviewPermission, 0}, s.adminReports)
	add(s, route{"PATCH", "/v1/admin/reports/{id}", "admin-review-report", "Review a report: its status and note; audited", "Moderation", moderation.ReviewPermission, 0}, s.reviewReport)
	add(s, route{"POST", "/v1/admin/moderation-actions", "admin-moderate", "Warn, suspend, ban or unban a user, or remove or restore their content, with a line in their moderation history; audited", "Moderation", moderation.ModeratePermission, http.StatusCreated}, s.moderate)
	add(s, route{"GET", "/v1/admin/users/{id}/moderation-history", "admin-moderation-history", "A user's moderation history, newest first", "Moderation", moderation.ModeratePermission, 0}, s.userHistory)
	add(s, route{"DELETE", "/v1/admin/users/{id}", "admin-delete-user", "Delete a user and everything they own", "Administration", usersWrite, http.StatusNoContent}, s.adminDeleteUser)
	add(s, route{"PUT", "/v1/admin/users/{id}/roles/{role}", "admin-assign-role", "Give a user a role (204 also when they have it)", "Administration", rolesWrite, http.StatusNoContent}, s.adminAssignRole)
	add(s, route{"DELETE", "/v1/admin/users/{id}/roles/{role}", "admin-remove-role", "Take a role from a user (204 also when they lack it)", "Administration", rolesWrite, http.StatusNoContent}, s.adminRemoveRole)
	add(s, route{"GET", "/v1/admin/users/{id}/sessions", "admin-list-user-sessions", "A user's live sessions, newest first", "Administration", usersRead, 0}, s.adminSessions)
	add(s, route{"DELETE", "/v1/admin/users/{id}/sessions", "admin-end-user-sessions", "End every session of a user at once, with their refresh tokens; answers how many; audited", "Administration", usersWrite, 0}, s.adminEndSessions)
	add(s, route{"DELETE", "/v1/admin/users/{id}/sessions/{session_id}", "admin-end-user-session", "End one session of a user at once, with its refresh tokens (404 session_not_found); audited", "Administration", usersWrite, http.StatusNoContent}, s.adminEndSession)
	add(s, route{"GET", "/v1/admin/users/{id}/factors", "admin-get-user-factors", "A user's second factor (TOTP enabled, recovery codes left) and passkeys, never a secret", "Administration", usersRead, 0}, s.adminFactors)
	add(s, route{"GET", "/v1/admin/orgs", "admin-list-organizations", "Every organisation, newest first (?q= searches names and slugs; ?user_id= those a user belongs to, with their role), with its count of members", "Organizations", usersRead, 0}, s.adminListOrgs)
	add(s, route{"GET", "/v1/admin/orgs/{id}", "admin-get-organization", "An organisation, with its count of members and its pending invitations", "Organizations", usersRead, 0}, s.adminGetOrg)
	add(s, route{"GET", "/v1/admin/orgs/{id}/members", "admin-list-organization-members", "An organisation's members with their roles, emails and usernames", "Organizations", usersRead, 0}, s.adminOrgMembers)
	add(s, route{"GET", "/v1/admin/roles", "admin-list-roles", "Roles with their permissions, and every permission", "Administration", rolesRead, 0}, s.adminListRoles)
	add(s, route{"POST", "/v1/admin/roles", "admin-create-role", "Create a role", "Administration", rolesWrite, http.StatusCreated}, s.adminCreateRole)
	add(s, route{"PATCH", "/v1/admin/roles/{id}", "admin-update-role", "Change a role: name, description, admin flag, permissions", "Administration", rolesWrite, 0}, s.adminUpdateRole)
	add(s, route{"DELETE", "/v1/admin/roles/{id}", "admin-delete-role", "Delete a role and its assignments (not END_USER or ADMIN)", "Administration", rolesWrite, http.StatusNoContent}, s.adminDeleteRole)
	add(s, route{"GET", "/v1/admin/permissions", "admin-list-permissions", "Every permission: userd's own (builtin) and the application's", "Administration", rolesRead, 0}, s.adminListPermissions)
	add(s, route{"POST", "/v1/admin/permissions", "admin-create-permission", "Define an application permission resource:action that roles may carry (409 permission_exists, too_many_permissions beyond 200; 422 reserved_permission)", "Administration", rolesWrite, http.StatusCreated}, s.adminCreatePermission)
	add(s, route{"DELETE", "/v1/admin/permissions/{key}", "admin-delete-permission", "Delete an application permission (409 permission_builtin; permission_in_use unless force=true)", "Administration", rolesWrite, http.StatusNoContent}, s.adminDeletePermission)
	add(s, route{"POST", "/v1/admin/notifications", "admin-send-notification", "Send a notification to one user (user_id) or many (user_ids)", "Administration", notificationsSend, http.StatusCreated}, s.sendNotification)
	add(s, route{"GET", "/v1/admin/api-keys", "admin-list-api-keys", "API keys, newest first, revoked ones included; never their secrets", "Administration", admin.APIKeysRead, 0}, s.adminListAPIKeys)
	add(s, route{"POST", "/v1/admin/api-keys", "admin-create-api-key", "Create an API key for an application back-end: the key is in the answer once", "Administration", admin.APIKeysWrite, http.StatusCreated}, s.adminCreateAPIKey)
	add(s, route{"DELETE", "/v1/admin/api-keys/{id}", "admin-revoke-api-key", "Revoke an API key: refused at once in every process (204 also when already revoked)", "Administration", admin.APIKeysWrite, http.StatusNoContent}, s.adminRevokeAPIKey)
	add(s, route{"POST", "/v1/admin/users/{id}/accounts/{account_id}/credentials/{credential_type}/reveal", "admin-reveal-credential", "A user's stored secret in clear, for an application; audited in the owner's trail", "Administration", vault.RevealPermission, 0}, s.adminRevealCredential)
	add(s, route{"GET", "/v1/admin/users/{id}/synchronizations/{sid}/token", "admin-synchronization-token", "A user's synchronization token in clear, for an application (404 token_not_found without one); audited in the owner's trail", "Administration", synchronization.RevealPermission, 0}, s.adminSyncToken)
	add(s, route{"POST", "/v1/admin/synchronizations/{sid}/run", "admin-run-synchronization", "Send the synchronization.due webhook now, once (asking again before it went out keeps one); audited in the owner's trail", "Administration", synchronization.RevealPermission, http.StatusAccepted}, s.adminRunSync)
	add(s, route{"PUT", "/v1/admin/featured-items/{item}", "admin-feature-item", "Feature an item, or change its position and window (the row is replaced); audited", "Administration", engagement.FeaturePermission, 0}, s.putFeatured)
	add(s, route{"DELETE", "/v1/admin/featured-items/{item}", "admin-unfeature-item", "Take an item off the featured list (204 also when it was not on it); audited", "Administration", engagement.FeaturePermission, http.StatusNoContent}, s.deleteFeatured)
	add(s, route{"GET", "/v1/admin/sponsor-ads", "admin-list-sponsor-ads", "Sponsor ads of every user, newest first (?status=pending: the review queue)", "Administration", sponsor.ReviewPermission, 0}, s.adminListSponsorAds)
	add(s, route{"PATCH", "/v1/admin/sponsor-ads/{id}", "admin-review-sponsor-ad", "Approve or reject a sponsor ad; reviewing again replaces the decision. The sponsor is notified; audited in the sponsor's trail", "Administration", sponsor.ReviewPermission, 0}, s.reviewSponsorAd)
	add(s, route{"POST", "/v1/billing/webhooks/{provider}", "billing-webhook", "A payment provider's signed event (Stripe's Stripe-Signature; 400 invalid_signature): recorded and applied once, a replay answers 200 and changes nothing", "Billing", public, 0}, s.billingWebhook)
	add(s, route{"GET", "/v1/me/subscription", "my-subscription", "The user's individual subscription: the one that grants its plan's roles, else the latest (404 no_subscription)", "Billing", accountRead, 0}, s.mySubscription)
	add(s, route{"GET", "/v1/orgs/{id}/subscription", "organization-subscription", "An organisation's subscription: its plan and state for any member; the provider's ids, metadata and history for owners and admins (404 organization_not_found, no_subscription)", "Billing", accountRead, 0}, s.orgSubscription)
	add(s, route{"GET", "/v1/me/subscriptions", "my-subscriptions", "Every subscription of the user, newest first, each with its history", "Billing", accountRead, 0}, s.mySubscriptions)
	add(s, route{"GET", "/v1/admin/subscriptions", "admin-list-subscriptions", "Subscriptions of every user and organisation, newest first, by status, plan and provider", "Billing", billing.ReadPermission, 0}, s.adminSubscriptions)
	add(s, route{"POST", "/v1/admin/subscriptions", "admin-grant-subscription", "Grant a plan by hand (provider manual) until ends_at; its roles come at once and go at its end; audited", "Billing", billing.WritePermission, http.StatusCreated}, s.grantSubscription)
	add(s, route{"DELETE", "/v1/admin/subscriptions/{id}", "admin-end-subscription", "End a manual grant now (409 not_manual for a provider's subscription); its roles go at once; audited", "Billing", billing.WritePermission, 0}, s.endSubscription)
	add(s, route{"GET", "/v1/admin/billing-events", "admin-list-billing-events", "The providers' events as received, newest first (?applied=false: those that changed nothing or wait for their customer's link)", "Billing", billing.ReadPermission, 0}, s.billingEvents)
	add(s, route{"PUT", "/v1/admin/plans/{plan}", "admin-set-plan-roles", "Set the roles a plan grants (never an administrator's role: 422 admin_role); its subscribers, and the members of subscribed organisations, get or lose them at once; audited", "Billing", billing.WritePermission, 0}, s.putPlanRoles)
	add(s, route{"GET", "/v1/admin/payment-providers", "admin-list-payment-providers", "The payment providers, without their secrets", "Billing", billing.ReadPermission, 0}, s.paymentProviders)
	add(s, route{"PUT", "/v1/admin/payment-providers/{name}", "admin-put-payment-provider", "Make or change a payment provider: its webhook secret (write-only, sealed) and whether it is enabled; audited", "Billing", billing.WritePermission, 0}, s.putPaymentProvider)
	add(s, route{"GET", "/v1/admin/collections", "admin-list-collections", "Every declared collection, by name", "Collections", collection.WritePermission, 0}, s.listCollections)
	add(s, route{"PUT", "/v1/admin/collections/{name}", "admin-put-collection", "Declare a collection or change its declaration (409 records_invalid, with a count and a sample, when existing records would break it); its unique keys, indexes and relations become indexes at once; audited", "Collections", collection.WritePermission, 0}, s.putCollection)
	add(s, route{"DELETE", "/v1/admin/collections/{name}", "admin-delete-collection", "Delete a collection: only when it has no records (409 collection_not_empty) unless ?force=true, and no other collection's relation points at it (409 collection_referenced); audited", "Collections", collection.WritePermission, http.StatusNoContent}, s.deleteCollection)
	add(s, route{"GET", "/v1/admin/collections/{name}/records", "admin-list-collection-records", "One owner's records of a collection (?owner=: a user's id or legacy id, or an organisation's id, by the collection's owner), filtered and sorted as the owner's own list; each read audited (collection.records_read)", "Collections", collection.WritePermission, 0}, s.adminRecords)
	add(s, route{"GET", "/v1/me/collections/{name}/records", "list-my-records", "The user's records of a collection, newest first, or filtered and sorted on indexed fields (?where=field:op:value, ?sort=-field)", "Collections", accountRead, 0}, s.myRecords)
	add(s, route{"POST", "/v1/me/collections/{name}/records", "create-my-record", "Add a record: 422 with one error per failing JSON pointer, 409 unique_violation naming the key, 409 record_limit", "Collections", accountWrite, http.StatusCreated}, s.createMyRecord)
	add(s, route{"GET", "/v1/me/collections/{name}/records/{id}", "get-my-record", "One of the user's records, with its ETag", "Collections", accountRead, 0}, s.getMyRecord)
	add(s, route{"PUT", "/v1/me/collections/{name}/records/{id}", "put-my-record", "Replace a record's data; If-Match makes it conditional (412 when stale)", "Collections", accountWrite, 0}, s.putMyRecord)
	add(s, route{"PATCH", "/v1/me/collections/{name}/records/{id}", "patch-my-record", "Change a record's data by a JSON Merge Patch (RFC 7396); If-Match makes it conditional", "Collections", accountWrite, 0}, s.patchMyRecord)
	add(s, route{"DELETE", "/v1/me/collections/{name}/records/{id}", "delete-my-record", "Delete a record, applying the relations' rules to the records that point at it (409 restricted)", "Collections", accountWrite, http.StatusNoContent}, s.deleteMyRecord)
	addStream(s, route{"GET", "/v1/me/collections/stream", "collection-stream", "Server-Sent Events: each creation, change and deletion of the user's records as it is committed; Last-Event-ID resumes", "Collections", accountRead, 0}, s.collectionStream, recordStream)
	add(s, route{"GET", "/v1/orgs/{org_id}/collections/{name}/records", "list-organization-records", "An organisation's records of a collection, for its members; as for the user's own", "Collections", accountRead, 0}, s.orgRecords)
	add(s, route{"POST", "/v1/orgs/{org_id}/collections/{name}/records", "create-organization-record", "Add a record to an organisation's collection: admins and owners, and members when the declaration says members_write (403 organization_role_required)", "Collections", accountWrite, http.StatusCreated}, s.createOrgRecord)
	add(s, route{"GET", "/v1/orgs/{org_id}/collections/{name}/records/{id}", "get-organization-record", "One of an organisation's records, with its ETag", "Collections", accountRead, 0}, s.getOrgRecord)
	add(s, route{"PUT", "/v1/orgs/{org_id}/collections/{name}/records/{id}", "put-organization-record", "Replace an organisation's record's data; If-Match makes it conditional", "Collections", accountWrite, 0}, s.putOrgRecord)
	add(s, route{"PATCH", "/v1/orgs/{org_id}/collections/{name}/records/{id}", "patch-organization-record", "Change an organisation's record by a JSON Merge Patch; If-Match makes it conditional", "Collections", accountWrite, 0}, s.patchOrgRecord)
	add(s, route{"DELETE", "/v1/orgs/{org_id}/collections/{name}/records/{id}", "delete-organization-record", "Delete an organisation's record, applying the relations' rules", "Collections", accountWrite, http.StatusNoContent}, s.deleteOrgRecord)
	add(s, route{"GET", "/v1/admin/companies", "admin-list-companies", "Companies, newest first (?q= searches names and domains)", "CRM", crm.CompaniesWrite, 0}, s.listCompanies)
	add(s, route{"POST", "/v1/admin/companies", "admin-create-company", "Create a company (409 domain_taken when another has its domain, in any case); audited", "CRM", crm.CompaniesWrite, http.StatusCreated}, s.createCompany)
	add(s, route{"GET", "/v1/admin/companies/{id}", "admin-get-company", "A company", "CRM", crm.CompaniesWrite, 0}, s.getCompany)
	add(s, route{"PATCH", "/v1/admin/companies/{id}", "admin-update-company", "Change a company's name, domain or metadata (409 domain_taken); audited", "CRM", crm.CompaniesWrite, 0}, s.patchCompany)
	add(s, route{"DELETE", "/v1/admin/companies/{id}", "admin-delete-company", "Delete a company; its client profiles belong to none; audited", "CRM", crm.CompaniesWrite, http.StatusNoContent}, s.deleteCompany)
	add(s, route{"GET", "/v1/admin/oauth-clients", "admin-list-oauth-clients", "The OpenID Provider's clients, newest first, without their secrets", "OpenID Provider", openid.ReadPermission, 0}, s.listOAuthClients)
	add(s, route{"POST", "/v1/admin/oauth-clients", "admin-create-oauth-client", "Register an application with the OpenID Provider: its client_secret (none for a public client) is answered here only; audited", "OpenID Provider", openid.WritePermission, http.StatusCreated}, s.createOAuthClient)
	add(s, route{"GET", "/v1/admin/oauth-clients/{client_id}", "admin-get-oauth-client", "One client of the OpenID Provider, without its secret", "OpenID Provider", openid.ReadPermission, 0}, s.getOAuthClient)
	add(s, route{"DELETE", "/v1/admin/oauth-clients/{client_id}", "admin-delete-oauth-client", "Delete a client with its consents, grants and tokens (which stop working at once); audited", "OpenID Provider", openid.WritePermission, http.StatusNoContent}, s.deleteOAuthClient)
	add(s, route{"GET", "/v1/admin/webhook-endpoints", "admin-list-webhook-endpoints", "The webhook endpoints, newest first, without their secrets; and the one --webhook-url defines, read-only", "Webhooks", webhook.ReadPermission, 0}, s.listWebhookEndpoints)
	add(s, route{"POST", "/v1/admin/webhook-endpoints", "admin-create-webhook-endpoint", "Make a webhook endpoint: its whsec_ secret is answered here only (409 too_many_endpoints past 50); audited", "Webhooks", webhook.WritePermission, http.StatusCreated}, s.createWebhookEndpoint)
	add(s, route{"GET", "/v1/admin/webhook-endpoints/{id}", "admin-get-webhook-endpoint", "A webhook endpoint, without its secret", "Webhooks", webhook.ReadPermission, 0}, s.getWebhookEndpoint)
	add(s, route{"PATCH", "/v1/admin/webhook-endpoints/{id}", "admin-update-webhook-endpoint", "Change a webhook endpoint's URL, description, event types or enabled state (enabling forgets its failures); audited", "Webhooks", webhook.WritePermission, 0}, s.patchWebhookEndpoint)
	add(s, route{"DELETE", "/v1/admin/webhook-endpoints/{id}", "admin-delete-webhook-endpoint", "Delete a webhook endpoint: its pending deliveries end, their record stays; audited", "Webhooks", webhook.WritePermission, http.StatusNoContent}, s.deleteWebhookEndpoint)
	add(s, route{"POST", "/v1/admin/webhook-endpoints/{id}/rotate-secret", "admin-rotate-webhook-secret", "Give an endpoint a new secret, answered here only; the old one also signs for 24 hours (two signatures in webhook-signature); audited", "Webhooks", webhook.WritePermission, 0}, s.rotateWebhookSecret)
	add(s, route{"POST", "/v1/admin/webhook-endpoints/{id}/test", "admin-test-webhook-endpoint", "Send a webhook.test event to the endpoint now, once, and answer how it went; recorded in the deliveries; audited", "Webhooks", webhook.WritePermission, 0}, s.testWebhookEndpoint)
	add(s, route{"GET", "/v1/admin/webhook-deliveries", "admin-list-webhook-deliveries", "Webhook delivery attempts, newest first (?endpoint= one endpoint's, ?status=succeeded|failed), kept 30 days", "Webhooks", webhook.ReadPermission, 0}, s.listWebhookDeliveries)
	add(s, route{"POST", "/v1/admin/webhook-deliveries/{id}/retry", "admin-retry-webhook-delivery", "Deliver the attempt's event again, now, to the same endpoint with the same webhook-id (409 not_retryable for a synchronization or test event, an expired event or a deleted endpoint); audited", "Webhooks", webhook.WritePermission, http.StatusAccepted}, s.retryWebhookDelivery)
	add(s, route{"GET", "/v1/admin/users/{id}/client-profile", "admin-get-client-profile", "A user's client profile with its company (404 client_profile_not_found)", "CRM", usersRead, 0}, s.adminClientProfile)
	add(s, route{"PUT", "/v1/admin/users/{id}/company", "admin-set-user-company", "Link the user's client profile (made on first use) to a company, or unlink it with null; audited in the user's trail", "CRM", crm.CompaniesWrite, 0}, s.putUserCompany)
	add(s, route{"GET", "/v1/admin/integration-mappings", "admin-list-integration-mappings", "Integration mappings, newest first: ?ever_id=&object_type= finds a userd object's, ?external_system=&external_id= the reverse", "CRM", crm.IntegrationsWrite, 0}, s.listMappings)
	add(s, route{"POST", "/v1/admin/integration-mappings", "admin-upsert-integration-mapping", "Upsert the mapping of (ever_id, object_type): 201 when made, 200 when its external id and system changed; audited", "CRM", crm.IntegrationsWrite, http.StatusCreated}, s.upsertMapping)
	add(s, route{"DELETE", "/v1/admin/integration-mappings/{id}", "admin-delete-integration-mapping", "Delete an integration mapping; audited", "CRM", crm.IntegrationsWrite, http.StatusNoContent}, s.deleteMapping)
	add(s, route{"GET", "/v1/admin/twenty-crm-config", "admin-get-twenty-crm-config", "The Twenty CRM connection, never its API key (404 twenty_crm_not_configured)", "CRM", crm.CRMWrite, 0}, s.getTwenty)
	add(s, route{"PUT", "/v1/admin/twenty-crm-config", "admin-put-twenty-crm-config", "Make or change the Twenty CRM connection: the API key is write-only and sealed; absent, the stored one stays; audited without it", "CRM", crm.CRMWrite, 0}, s.putTwenty)
	add(s, route{"GET", "/v1/admin/seed-status", "admin-get-seed-status", "Whether the demonstration data was loaded (userd seed FILE), when, by whom, from what", "CRM", crm.SeedWrite, 0}, s.getSeedStatus)
	add(s, route{"PUT", "/v1/admin/seed-status", "admin-put-seed-status", "Mark the database seeded, or clear the mark so that userd seed may run again; audited", "CRM", crm.SeedWrite, 0}, s.putSeedStatus)
	add(s, route{"POST", "/v1/newsletter/subscribe", "newsletter-subscribe", "Ask for the newsletter: 202 with the same body whatever the address's state; a new, pending or unsubscribed address gets a double opt-in mail, a confirmed one nothing (rate-limited per address and per email: 429)", "Newsletter", public, http.StatusAccepted}, s.subscribeNewsletter)
	add(s, route{"POST", "/v1/newsletter/confirm", "newsletter-confirm", "Confirm a subscription with the token of its mail (404 invalid_token when unknown, used or expired); audited", "Newsletter", public, 0}, s.confirmNewsletter)
	addForms(s, route{"POST", newsletter.OneClickPath, "newsletter-unsubscribe", "Unsubscribe with the token of the List-Unsubscribe URL: a JSON body {token}, or a one-click POST (RFC 8058) of List-Unsubscribe=One-Click as a form to the URL; again changes nothing (404 invalid_token when unknown); audited", "Newsletter", public, 0}, s.unsubscribeNewsletter)
	documentOneClick(s, newsletter.OneClickPath)
	addStream(s, route{"GET", "/v1/admin/newsletter-subscribers", "admin-list-newsletter-subscribers", "Newsletter subscribers, newest first, with their unsubscribe URLs (?status=); ?format=csv: every confirmed subscriber as CSV, audited", "Newsletter", newsletter.ReadPermission, 0}, s.adminSubscribers, subscribersDoc)
	add(s, route{"DELETE", "/v1/admin/newsletter-subscribers/{id}", "admin-delete-newsletter-subscriber", "Erase a subscriber, whatever their status; audited without the email", "Newsletter", newsletter.WritePermission, http.StatusNoContent}, s.deleteSubscriber)
	add(s, route{"GET", "/v1/surveys/{slug}", "get-survey", "An open survey's questions (404 survey_not_found for a draft, closed or unknown one), with answered_by_me for a signed-in caller", "Surveys", optionalUser, 0}, s.getSurvey)
	add(s, route{"POST", "/v1/surveys/{slug}/responses", "respond-to-survey", "Answer an open survey: once per signed-in user, or, where the survey allows it, once per anonymous_id (stored only as a keyed hash; rate-limited per address). 422 with one error per failing question, 409 already_answered, 409 survey_closed, 401 for an anonymous response to a survey that does not allow them", "Surveys", optionalUser, http.StatusCreated}, s.respondToSurvey)
	add(s, route{"GET", "/v1/admin/surveys", "admin-list-surveys", "Every survey, whatever its status, newest first, with its count of responses", "Surveys", survey.ReadPermission, 0}, s.listSurveys)
	add(s, route{"POST", "/v1/admin/surveys", "admin-create-survey", "Create a survey (draft unless status says otherwise; 409 slug_taken); audited", "Surveys", survey.WritePermission, http.StatusCreated}, s.createSurvey)
	add(s, route{"GET", "/v1/admin/surveys/{slug}", "admin-get-survey", "A survey, whatever its status, with its count of responses", "Surveys", survey.ReadPermission, 0}, s.adminGetSurvey)
	add(s, route{"PATCH", "/v1/admin/surveys/{slug}", "admin-update-survey", "Change a survey: slug, title, description, status, allow_anonymous, questions (once it has responses, questions and options may only be added: 409 survey_answered); audited", "Surveys", survey.WritePermission, 0}, s.patchSurvey)
	add(s, route{"DELETE", "/v1/admin/surveys/{slug}", "admin-delete-survey", "Delete a survey and its responses; audited", "Surveys", survey.WritePermission, http.StatusNoContent}, s.deleteSurvey)
	add(s, route{"GET", "/v1/admin/surveys/{slug}/results", "admin-survey-results", "A survey's results: its count of responses and, per question, counts per option, the distribution and average of ratings and numbers, the count of text answers", "Surveys", survey.ReadPermission, 0}, s.surveyResults)
	add(s, route{"GET", "/v1/admin/surveys/{slug}/responses", "admin-survey-responses", "A survey's responses, newest first, in pages", "Surveys", survey.ReadPermission, 0}, s.surveyResponses)
	addStream(s, route{"GET", "/v1/admin/surveys/{slug}/responses.csv", "admin-survey-responses-csv", "Every response to a survey, oldest first, as CSV streamed as it is read (one column per question)", "Surveys", survey.ReadPermission, 0}, s.surveyCSV, csvResponses)
	add(s, route{"GET", "/v1/admin/mail-deliveries", "admin-list-mail-deliveries", "Every mail userd sent or will send, newest first, with its outcome (?status=, ?to=, ?kind=); never its body", "Administration", mailq.ReadPermission, 0}, s.listMailDeliveries)
	add(s, route{"GET", "/v1/admin/activity-logs", "admin-activity-logs", "The audit trail, newest first, with filters", "Administration", logsRead, 0}, s.adminActivityLogs)
}

// eventStream documents the notification stream's answer.
func eventStream(s *Server) *huma.Response {
	return &huma.Response{
		Description: "An event stream: `event: notification`, `id:` the notification's id, `data:` the notification as JSON; comments as heartbeats. " +
			"When the stream's session or user is revoked (logout, a revoked session, a password change, suspension, ban, deletion) or the access token that opened it expires, " +
			"a last `event: end` with `data: {\"reason\":\"session_ended\"}` or `{\"reason\":\"token_expired\"}` comes and the connection closes. " +
			"A user may hold 20 streams open at once: the next is 429 `too_many_streams`.",
		Content: map[string]*huma.MediaType{"text/event-stream": {
			Schema: s.api.OpenAPI().Components.Schemas.Schema(reflect.TypeFor[Notification](), true, "")}},
	}
}

// addStream registers an operation that writes its answer as it goes (an
// event stream, an export); doc describes the answer (JSON when nil).
func addStream[I any](s *Server, r route, h func(context.Context, *I) (*huma.StreamResponse, error), doc func(*Server) *huma.Response) {
	op := operation(r)
	resp := &huma.Response{Description: "A JSON document, written as it is read.",
		Content: map[string]*huma.MediaType{"application/json": {Schema: &huma.Schema{Type: "object"}}}}
	if doc != nil {
		resp = doc(s)
	}
	op.Responses = map[string]*huma.Response{"200": resp}
	huma.Register(s.api, op, func(ctx context.Context, in *I) (*huma.StreamResponse, error) {
		out, err := h(ctx, in)
		if err != nil {
			return nil, problemOf(ctx, s.log, err)
		}
		return out, nil
	})
}

// add registers one operation. Handlers return errors from the services;
// add turns them into problem documents, so no handler chooses a status.
func add[I, O any](s *Server, r route, h func(context.Context, *I) (*O, error)) {
	huma.Register(s.api, operation(r), problems(s, h))
}

// addForms registers an operation like add that takes a form body
// (application/x-www-form-urlencoded or multipart/form-data) as well as
// JSON, which requireJSON lets through: its input reads the body raw
// (RawBody) and its handler decodes it.
func addForms[I, O any](s *Server, r route, h func(context.Context, *I) (*O, error)) {
	op := operation(r)
	op.Metadata[metaForms] = true
	huma.Register(s.api, op, problems(s, h))
}

// problems returns h with its errors turned into problem documents.
func problems[I, O any](s *Server, h func(context.Context, *I) (*O, error)) func(context.Context, *I) (*O, error) {
	return func(ctx context.Context, in *I) (*O, error) {
		out, err := h(ctx, in)
		if err != nil {
			return nil, problemOf(ctx, s.log, err)
		}
		return out, nil
	}
}

// operation makes the huma operation of a route: its permission in the
// metadata, the description and the security requirement.
func operation(r route) huma.Operation {
	op := huma.Operation{
		OperationID:   r.id,
		Method:        r.method,
		Path:          r.path,
		Summary:       r.summary,
		Tags:          []string{r.tag},
		DefaultStatus: r.status,
		Metadata:      map[string]any{},
		// Every route may meet a database that does not answer for now
		// (503 database_unavailable, with a Retry-After).
		Errors: []int{http.StatusBadRequest, http.StatusUnprocessableEntity, http.StatusServiceUnavailable},
	}
	op.Metadata[metaPerm] = r.needs
	op.Security = []map[string][]string{{}} // anyone: an empty requirement
	switch r.needs {
	case public, optionalUser:
	case anyUser:
		op.Description = "Needs a signed-in user."
	default:
		op.Description = "Needs the permission `" + r.needs + "`."
		op.Extensions = map[string]any{"x-permission": r.needs}
	}
	if r.needs != public && r.needs != optionalUser {
		op.Security = []map[string][]string{{"bearer": {}}, {"cookie": {}}}
		if !forUsers(r.needs, r.path) {
			op.Security = append(op.Security, map[string][]string{"apiKey": {}})
		}
		op.Errors = append(op.Errors, http.StatusUnauthorized, http.StatusForbidden)
	}
	// A route that names something in its path answers 404 when there is no
	// such thing, or it is another's; an item ({item}) is any slug.
	if strings.Contains(strings.ReplaceAll(r.path, "{item}", ""), "{") && !slices.Contains(op.Errors, http.StatusNotFound) {
		op.Errors = append(op.Errors, http.StatusNotFound)
	}
	for _, status := range alsoAnswers[r.id] {
		if !slices.Contains(op.Errors, status) {
			op.Errors = append(op.Errors, status)
		}
	}
	return op
}

// alsoAnswers lists, by operation id, the problems an operation answers
// beyond those of every operation of its kind: 429 where a rate limit
// counts it, 401 where a public route refuses a credential or a token.
var alsoAnswers = map[string][]int{
	"signup":                         {http.StatusTooManyRequests},
	"login":                          {http.StatusUnauthorized, http.StatusTooManyRequests},
	"refresh-token":                  {http.StatusUnauthorized, http.StatusTooManyRequests},
	"forgot-password":                {http.StatusTooManyRequests},
	"reset-password":                 {http.StatusUnauthorized},
	"verify-email":                   {http.StatusUnauthorized},
	"mfa-verify":                     {http.StatusUnauthorized, http.StatusTooManyRequests},
	"passkey-login-begin":            {http.StatusTooManyRequests},
	"passkey-login-finish":           {http.StatusUnauthorized},
	"oauth-callback":                 {http.StatusUnauthorized},
	"change-password":                {http.StatusTooManyRequests},
	"disable-totp":                   {http.StatusTooManyRequests},
	"resend-verification":            {http.StatusTooManyRequests},
	"post-comment":                   {http.StatusTooManyRequests},
	"vote":                           {http.StatusTooManyRequests},
	"unvote":                         {http.StatusTooManyRequests},
	"view-item":                      {http.StatusTooManyRequests},
	"post-report":                    {http.StatusTooManyRequests},
	"create-organization-invitation": {http.StatusTooManyRequests},
	"newsletter-subscribe":           {http.StatusTooManyRequests},
	"respond-to-survey":              {http.StatusTooManyRequests},
	"billing-webhook":                {http.StatusTooManyRequests},
}

func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err) // only our own plain types are marshalled here
	}
	return b
}
