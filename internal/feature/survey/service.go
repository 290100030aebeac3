package survey

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"database/sql"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"time"

	"github.com/userd/userd"
	"github.com/userd/userd/internal/feature/engagement"
	"github.com/userd/userd/internal/feature/ratelimit"
	"github.com/userd/userd/internal/platform/sqldb"
)

// Deps are what a Service needs besides the database.
type Deps struct {
	// Key keys the hashes of anonymous respondents' ids: a secret derived
	// from the master key, the same in every process and across restarts,
	// so that an anonymous id answers once.
	Key []byte
	// Limiter counts anonymous responses per address (none when nil) by
	// ResponseLimit.
	Limiter       *ratelimit.Limiter
	ResponseLimit ratelimit.Rule
}

// Service serves surveys: the open ones and their responses to anyone, the
// rest to administrators.
type Service struct {
	db   *sqldb.DB
	deps Deps
}

// NewService returns a Service over db.
func NewService(db *sqldb.DB, d Deps) *Service { return &Service{db: db, deps: d} }

// ErrAnonymousIDRequired answers an anonymous response without an
// anonymous_id.
var ErrAnonymousIDRequired = userd.Invalid([]userd.FieldError{{Field: "anonymous_id", Code: "required",
	Message: "An anonymous response names its respondent by an anonymous_id of 1 to 200 printable characters."}})

// Response is a row of survey_responses, with its survey's slug. UserID is
// "" for an anonymous response.
type Response struct {
	ID, SurveyID, SurveySlug, UserID string
	Answers                          map[string]any
	CreatedAt                        time.Time
}

const columns = `id, slug, title, description, questions, status, allow_anonymous, created_at, updated_at`

func scan(row sqldb.Scanner) (Survey, error) { return scanSurvey(row) }

// scanSurvey scans a survey's columns, then into extra the columns that
// follow them.
func scanSurvey(row sqldb.Scanner, extra ...any) (Survey, error) {
	var s Survey
	var qs []byte
	dest := append([]any{&s.ID, &s.Slug, &s.Title, &s.Description, &qs, &s.Status, &s.AllowAnonymous, &s.CreatedAt, &s.UpdatedAt}, extra...)
	if err := row.Scan(dest...); err != nil {
		return s, err
	}
	s.CreatedAt, s.UpdatedAt = s.CreatedAt.UTC(), s.UpdatedAt.UTC()
	if err := json.Unmarshal(qs, &s.Questions); err != nil {
		return s, fmt.Errorf("questions of survey %s: %w", s.ID, err)
	}
	return s, nil
}

// responseColumns are a response's columns, of survey_responses r joined
// with surveys s.
const responseColumns = `r.id, r.survey_id, s.slug, r.user_id, r.answers, r.created_at`

func scanResponse(row sqldb.Scanner) (Response, error) {
	var r Response
	var user sql.NullString
	var answers []byte
	if err := row.Scan(&r.ID, &r.SurveyID, &r.SurveySlug, &user, &answers, &r.CreatedAt); err != nil {
		return r, err
	}
	r.UserID, r.CreatedAt = user.String, r.CreatedAt.UTC()
	if err := json.Unmarshal(answers, &r.Answers); err != nil {
		return r, fmt.Errorf("answers of response %s: %w", r.ID, err)
	}
	return r, nil
}

// find reads the survey with slug in tx, or returns ErrNotFound.
func find(ctx context.Context, tx *sqldb.Tx, slug string) (Survey, error) {
	if !validSlug(slug) {
		return Survey{}, ErrNotFound
	}
	return sqldb.One(ctx, tx, ErrNotFound, "read survey", scan, `SELECT `+columns+` FROM surveys WHERE slug = $1`, slug)
}

// locked reads the survey with slug in tx once it holds the survey's lock:
// shared by responses, exclusive for a change of its questions, so that no
// response is checked against questions that change meanwhile.
func locked(ctx context.Context, tx *sqldb.Tx, slug string, shared bool) (Survey, error) {
	sv, err := find(ctx, tx, slug)
	if err != nil {
		return sv, err
	}
	if err := tx.LockName(ctx, "survey:"+sv.ID, shared); err != nil {
		return sv, fmt.Errorf("lock survey: %w", err)
	}
	return sqldb.One(ctx, tx, ErrNotFound, "read survey", scan, `SELECT `+columns+` FROM surveys WHERE id = $1`, sv.ID)
}

// scopeOf is the scope of the actor's transactions: their own, or the
// system's for an anonymous caller (surveys are no user's; an anonymous
// response has no user).
func scopeOf(ctx context.Context, a userd.Actor) context.Context {
	if a.UserID == "" {
		return sqldb.System(ctx)
	}
	return sqldb.AsUser(ctx, a.UserID)
}

// Published returns the open survey with slug, and for a signed-in actor
// whether they answered it (nil for anyone else). It returns ErrNotFound
// for a survey that is not open.
func (s *Service) Published(ctx context.Context, a userd.Actor, slug string) (sv Survey, answered *bool, err error) {
	err = s.db.View(scopeOf(ctx, a), func(tx *sqldb.Tx) error {
		if sv, err = find(ctx, tx, slug); err != nil {
			return err
		}
		if sv.Status != Open {
			return ErrNotFound
		}
		if a.UserID == "" {
			return nil
		}
		var yes bool
		if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM survey_responses WHERE survey_id = $1 AND user_id = $2)`, sv.ID, a.UserID).Scan(&yes); err != nil {
			return fmt.Errorf("read own response: %w", err)
		}
		answered = &yes
		return nil
	})
	return sv, answered, err
}

// Respond stores the actor's answers to the open survey with slug: a
// signed-in actor's once, an anonymous one's (on a survey that allows them)
// once per anonymousID, which is stored only as a keyed hash of the survey
// and the id; a signed-in actor's anonymousID is ignored. An anonymous
// response counts against the client's address (ResponseLimit) before
// anything is checked. It returns ErrNotFound (also for a draft),
// ErrClosed, ErrSignInRequired, ErrAnonymousIDRequired, engagement's
// ErrInvalidAnonymousID, ErrAlreadyAnswered, the limiter's refusal, and a
// validation error with one entry per failing question (answers.ID).
func (s *Service) Respond(ctx context.Context, a userd.Actor, c userd.Client, slug string, anonymousID *string, answers map[string]any) (r Response, err error) {
	if a.UserID == "" {
		if err := s.deps.Limiter.Hit(ctx, "survey:"+c.IP, s.deps.ResponseLimit); err != nil {
			return r, err
		}
	}
	err = s.db.Tx(scopeOf(ctx, a), func(tx *sqldb.Tx) error {
		sv, err := locked(ctx, tx, slug, true)
		if err != nil {
			return err
		}
		user, respondent, err := s.respondent(a, sv, anonymousID)
		if err != nil {
			return err
		}
		var answered bool
		if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM survey_responses WHERE survey_id = $1 AND (user_id = $2 OR respondent_hash = $3))`,
			sv.ID, user, respondent).Scan(&answered); err != nil {
			return fmt.Errorf("read earlier response: %w", err)
		}
		if answered {
			return ErrAlreadyAnswered
		}
		stored, err := checkAnswers(sv.Questions, answers)
		if err != nil {
			return err
		}
		data, err := json.Marshal(stored)
		if err != nil {
			return fmt.Errorf("encode answers: %w", err)
		}
		r = Response{ID: userd.NewID(tx.Now), SurveyID: sv.ID, SurveySlug: sv.Slug, UserID: a.UserID, Answers: stored, CreatedAt: tx.Now}
		_, err = tx.Exec(ctx, `INSERT INTO survey_responses (id, survey_id, user_id, respondent_hash, answers, created_at) VALUES ($1, $2, $3, $4, $5, $6)`,
			r.ID, sv.ID, user, respondent, string(data), tx.Now)
		if sqldb.Violated(err, sqldb.Unique, "idx_survey_responses_survey_user") || sqldb.Violated(err, sqldb.Unique, "idx_survey_responses_survey_respondent") {
			return ErrAlreadyAnswered
		}
		if err != nil {
			return fmt.Errorf("insert survey response: %w", err)
		}
		return nil
	})
	return r, err
}

// respondent returns who answers sv: the actor's user id, or for an
// anonymous actor the keyed hash of sv's id and their anonymous id (each
// nil when it is not the one). It returns the refusals of Respond that the
// survey's status and settings make.
func (s *Service) respondent(a userd.Actor, sv Survey, anonymousID *string) (user, hash any, err error) {
	switch {
	case sv.Status == Draft:
		return nil, nil, ErrNotFound
	case sv.Status == Closed:
		return nil, nil, ErrClosed
	case a.UserID != "":
		return a.UserID, nil, nil
	case !sv.AllowAnonymous:
		return nil, nil, ErrSignInRequired
	case anonymousID == nil:
		return nil, nil, ErrAnonymousIDRequired
	case !engagement.ValidAnonymousID(*anonymousID):
		return nil, nil, engagement.ErrInvalidAnonymousID
	}
	m := hmac.New(sha256.New, s.deps.Key)
	m.Write([]byte("userd survey respondent\x00" + sv.ID + "\x00" + *anonymousID))
	return nil, base64.RawURLEncoding.EncodeToString(m.Sum(nil)), nil
}

// Mine returns up to limit of the actor's responses, newest first, after
// the response with id before ("" for the first page), each with its
// survey's slug.
func (s *Service) Mine(ctx context.Context, a userd.Actor, before string, limit int) (rs []Response, err error) {
	err = s.db.View(sqldb.AsUser(ctx, a.UserID), func(tx *sqldb.Tx) (err error) {
		rs, err = sqldb.All(ctx, tx, scanResponse, `SELECT `+responseColumns+` FROM survey_responses r JOIN surveys s ON s.id = r.survey_id
			WHERE r.user_id = $1 AND r.id < $2 ORDER BY r.id DESC LIMIT $3`, a.UserID, sqldb.Before(before), limit)
		if err != nil {
			return fmt.Errorf("list own survey responses: %w", err)
		}
		return nil
	})
	return rs, err
}
