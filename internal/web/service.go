package web

import (
	"context"
	"net/http"
)

type statusOutput struct {
	Body struct {
		Status string `json:"status" example:"ok"`
	}
}

func (s *Server) healthz(ctx context.Context, _ *struct{}) (*statusOutput, error) {
	out := &statusOutput{}
	out.Body.Status = "ok"
	return out, nil
}

func (s *Server) readyz(ctx context.Context, _ *struct{}) (*statusOutput, error) {
	if err := s.db.Ping(ctx); err != nil {
		s.log.WarnContext(ctx, "not ready", "err", err)
		return nil, newProblem(http.StatusServiceUnavailable, "database_unavailable", "The database does not answer.")
	}
	pending, err := s.db.MigrationsPending(ctx)
	if err != nil {
		s.log.WarnContext(ctx, "not ready", "err", err)
		return nil, newProblem(http.StatusServiceUnavailable, "database_unavailable", "The migration state cannot be read.")
	}
	if pending {
		return nil, newProblem(http.StatusServiceUnavailable, "migrations_pending", "Migrations are waiting to be applied.")
	}
	out := &statusOutput{}
	out.Body.Status = "ready"
	return out, nil
}
