package survey

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/userd/userd"
	"github.com/userd/userd/internal/feature/audit"
	"github.com/userd/userd/internal/platform/sqldb"
)

// Managed is a survey as administrators see it: with how many responses it
// has.
type Managed struct {
	Survey
	Responses int64
}

// managedColumns are a survey's columns and its count of responses.
const managedColumns = columns + `, (SELECT count(*) FROM survey_responses r WHERE r.survey_id = surveys.id)`

func scanManaged(row sqldb.Scanner) (m Managed, err error) {
	m.Survey, err = scanSurvey(row, &m.Responses)
	return m, err
}

// readManaged reads the survey with slug and its count of responses in tx.
func readManaged(ctx context.Context, tx *sqldb.Tx, slug string) (Managed, error) {
	if !validSlug(slug) {
		return Managed{}, ErrNotFound
	}
	return sqldb.One(ctx, tx, ErrNotFound, "read survey", scanManaged, `SELECT `+managedColumns+` FROM surveys WHERE slug = $1`, slug)
}

// Create stores a new survey (Draft unless n says otherwise) and records
// audit.SurveyCreated, with the actor, in one transaction. It returns
// ErrWriteForbidden, a validation error listing the bad fields, and
// ErrSlugTaken.
func (s *Service) Create(ctx context.Context, a userd.Actor, c userd.Client, n New) (m Managed, err error) {
	if !a.Grants.Has(WritePermission) {
		return m, ErrWriteForbidden
	}
	if n.Status == "" {
		n.Status = Draft
	}
	if err := check(n.Slug, n.Title, n.Description, n.Status, n.Questions); err != nil {
		return m, err
	}
	qs, err := json.Marshal(n.Questions)
	if err != nil {
		return m, fmt.Errorf("encode questions: %w", err)
	}
	// System: surveys are no user's.
	err = s.db.Tx(sqldb.System(ctx), func(tx *sqldb.Tx) error {
		m, err = sqldb.One(ctx, tx, ErrNotFound, "insert survey", scanManaged, `INSERT INTO surveys (id, slug, title, description, questions, status, allow_anonymous, created_at, updated_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8) RETURNING `+columns+`, 0`,
			userd.NewID(tx.Now), n.Slug, n.Title, n.Description, string(qs), n.Status, n.AllowAnonymous, tx.Now)
		if sqldb.Violated(err, sqldb.Unique, "idx_surveys_slug") {
			return ErrSlugTaken
		}
		if err != nil {
			return err
		}
		return audit.Record(ctx, tx, audit.Event{Action: audit.SurveyCreated, TargetType: "survey", TargetID: m.ID, IP: c.IP, UserAgent: c.UserAgent,
			Metadata: map[string]any{"slug": m.Slug, "status": m.Status}})
	})
	return m, err
}

// List returns up to limit surveys of every status, newest first, after
// the survey with id before ("" for the first page). It returns
// ErrReadForbidden.
func (s *Service) List(ctx context.Context, a userd.Actor, before string, limit int) (ms []Managed, err error) {
	if !a.Grants.Has(ReadPermission) {
		return nil, ErrReadForbidden
	}
	err = s.db.View(sqldb.System(ctx), func(tx *sqldb.Tx) (err error) {
		ms, err = sqldb.All(ctx, tx, scanManaged, `SELECT `+managedColumns+` FROM surveys WHERE id < $1 ORDER BY id DESC LIMIT $2`, sqldb.Before(before), limit)
		if err != nil {
			return fmt.Errorf("list surveys: %w", err)
		}
		return nil
	})
	return ms, err
}

// Get returns the survey with slug, whatever its status. It returns
// ErrReadForbidden and ErrNotFound.
func (s *Service) Get(ctx context.Context, a userd.Actor, slug string) (m Managed, err error) {
	if !a.Grants.Has(ReadPermission) {
		return m, ErrReadForbidden
	}
	err = s.db.View(sqldb.System(ctx), func(tx *sqldb.Tx) (err error) {
		m, err = readManaged(ctx, tx, slug)
		return err
	})
	return m, err
}

// Update applies ch to the survey with slug and records audit.SurveyUpdated
// with the names of the fields it set, in one transaction. Once the survey
// has responses, its questions may only grow (see errAnswered: 409
// survey_answered); a change of questions waits for the responses being
// written and holds back new ones until it commits. It returns
// ErrWriteForbidden, ErrNotFound, a validation error listing the bad
// fields, ErrSlugTaken and the survey_answered conflict.
func (s *Service) Update(ctx context.Context, a userd.Actor, c userd.Client, slug string, ch Change) (m Managed, err error) {
	if !a.Grants.Has(WritePermission) {
		return m, ErrWriteForbidden
	}
	err = s.db.Tx(sqldb.System(ctx), func(tx *sqldb.Tx) error {
		old, err := locked(ctx, tx, slug, ch.Questions == nil)
		if err != nil {
			return err
		}
		next, set := apply(old, ch)
		if err := check(next.Slug, next.Title, next.Description, next.Status, next.Questions); err != nil {
			return err
		}
		if ch.Questions != nil {
			var n int64
			if err := tx.QueryRow(ctx, `SELECT count(*) FROM survey_responses WHERE survey_id = $1`, old.ID).Scan(&n); err != nil {
				return fmt.Errorf("count responses: %w", err)
			}
			if fs := compatible(old.Questions, next.Questions); n > 0 && fs != nil {
				return errAnswered(fs)
			}
		}
		qs, err := json.Marshal(next.Questions)
		if err != nil {
			return fmt.Errorf("encode questions: %w", err)
		}
		m, err = sqldb.One(ctx, tx, ErrNotFound, "update survey", scanManaged, `UPDATE surveys
			SET slug = $1, title = $2, description = $3, questions = $4, status = $5, allow_anonymous = $6, updated_at = $7
			WHERE id = $8 RETURNING `+managedColumns,
			next.Slug, next.Title, next.Description, string(qs), next.Status, next.AllowAnonymous, tx.Now, old.ID)
		if sqldb.Violated(err, sqldb.Unique, "idx_surveys_slug") {
			return ErrSlugTaken
		}
		if err != nil {
			return err
		}
		return audit.Record(ctx, tx, audit.Event{Action: audit.SurveyUpdated, TargetType: "survey", TargetID: m.ID, IP: c.IP, UserAgent: c.UserAgent,
			Metadata: map[string]any{"slug": m.Slug, "fields": set}})
	})
	return m, err
}

// apply returns sv changed by ch, and the names of the fields ch sets.
func apply(sv Survey, ch Change) (Survey, []string) {
	set := []string{}
	str := func(name string, field *string, v *string) {
		if v != nil {
			*field, set = *v, append(set, name)
		}
	}
	str("slug", &sv.Slug, ch.Slug)
	str("title", &sv.Title, ch.Title)
	str("description", &sv.Description, ch.Description)
	str("status", &sv.Status, ch.Status)
	if ch.Questions != nil {
		sv.Questions, set = *ch.Questions, append(set, "questions")
	}
	if ch.AllowAnonymous != nil {
		sv.AllowAnonymous, set = *ch.AllowAnonymous, append(set, "allow_anonymous")
	}
	return sv, set
}

// Delete deletes the survey with slug and its responses, and records
// audit.SurveyDeleted with how many responses went, in one transaction. It
// returns ErrWriteForbidden and ErrNotFound.
func (s *Service) Delete(ctx context.Context, a userd.Actor, c userd.Client, slug string) error {
	if !a.Grants.Has(WritePermission) {
		return ErrWriteForbidden
	}
	return s.db.Tx(sqldb.System(ctx), func(tx *sqldb.Tx) error {
		m, err := readManaged(ctx, tx, slug)
		if err != nil {
			return err
		}
		if err := tx.ExecOne(ctx, ErrNotFound, `DELETE FROM surveys WHERE id = $1`, m.ID); err != nil {
			return err
		}
		return audit.Record(ctx, tx, audit.Event{Action: audit.SurveyDeleted, TargetType: "survey", TargetID: m.ID, IP: c.IP, UserAgent: c.UserAgent,
			Metadata: map[string]any{"slug": m.Slug, "responses": m.Responses}})
	})
}

// Results summarises every response to the survey with slug (see Results),
// read in one transaction. It returns ErrReadForbidden and ErrNotFound.
func (s *Service) Results(ctx context.Context, a userd.Actor, slug string) (sv Survey, r Results, err error) {
	if !a.Grants.Has(ReadPermission) {
		return sv, r, ErrReadForbidden
	}
	err = s.db.View(sqldb.System(ctx), func(tx *sqldb.Tx) error {
		if sv, err = find(ctx, tx, slug); err != nil {
			return err
		}
		t := newTally(sv.Questions)
		err := sqldb.Each(ctx, tx, func(row sqldb.Scanner) error {
			var data []byte
			var answers map[string]any
			if err := row.Scan(&data); err != nil {
				return err
			}
			if err := json.Unmarshal(data, &answers); err != nil {
				return fmt.Errorf("answers: %w", err)
			}
			t.add(answers)
			return nil
		}, `SELECT answers FROM survey_responses WHERE survey_id = $1`, sv.ID)
		if err != nil {
			return fmt.Errorf("read responses: %w", err)
		}
		r = t.results()
		return nil
	})
	return sv, r, err
}

// Responses returns up to limit responses to the survey with slug, newest
// first, after the response with id before ("" for the first page). It
// returns ErrReadForbidden and ErrNotFound.
func (s *Service) Responses(ctx context.Context, a userd.Actor, slug, before string, limit int) (rs []Response, err error) {
	if !a.Grants.Has(ReadPermission) {
		return nil, ErrReadForbidden
	}
	err = s.db.View(sqldb.System(ctx), func(tx *sqldb.Tx) error {
		sv, err := find(ctx, tx, slug)
		if err != nil {
			return err
		}
		rs, err = sqldb.All(ctx, tx, scanResponse, `SELECT `+responseColumns+` FROM survey_responses r JOIN surveys s ON s.id = r.survey_id
			WHERE r.survey_id = $1 AND r.id < $2 ORDER BY r.id DESC LIMIT $3`, sv.ID, sqldb.Before(before), limit)
		if err != nil {
			return fmt.Errorf("list survey responses: %w", err)
		}
		return nil
	})
	return rs, err
}

// EachResponse calls fn with every response to sv, a survey that Get
// read, oldest first, read in one transaction. It returns
// ErrReadForbidden and fn's first error.
func (s *Service) EachResponse(ctx context.Context, a userd.Actor, sv Survey, fn func(Response) error) error {
	if !a.Grants.Has(ReadPermission) {
		return ErrReadForbidden
	}
	return s.db.View(sqldb.System(ctx), func(tx *sqldb.Tx) error {
		return sqldb.Each(ctx, tx, func(row sqldb.Scanner) error {
			r, err := scanResponse(row)
			if err != nil {
				return err
			}
			return fn(r)
		}, `SELECT `+responseColumns+` FROM survey_responses r JOIN surveys s ON s.id = r.survey_id WHERE r.survey_id = $1 ORDER BY r.id`, sv.ID)
	})
}
