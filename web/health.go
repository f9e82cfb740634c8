package web

import (
	"context"
	"net/http"

	"github.com/danielgtaylor/huma/v2"
)

type healthOutput struct {
	Body struct {
		Status  string `json:"status" enum:"ok,degraded,starting,unavailable"`
		Version string `json:"version,omitempty"`
		Detail  string `json:"detail,omitempty"`
	}
}

func (s *Server) registerHealth(api huma.API) {
	huma.Register(api, huma.Operation{
		OperationID: "healthz", Method: http.MethodGet, Path: "/healthz", Tags: []string{"operations"},
		Summary: "The process is alive",
	}, func(ctx context.Context, _ *struct{}) (*healthOutput, error) {
		out := &healthOutput{}
		out.Body.Status, out.Body.Version = "ok", s.cfg.Version
		return out, nil
	})
	huma.Register(api, huma.Operation{
		OperationID: "readyz", Method: http.MethodGet, Path: "/readyz", Tags: []string{"operations"},
		Summary: "Storage and workers are ready to serve (\"degraded\": serving, but not everything works)", Errors: []int{503},
	}, func(ctx context.Context, _ *struct{}) (*healthOutput, error) {
		if err := s.st.Ping(ctx); err != nil {
			return nil, err
		}
		if err := s.ready(); err != nil {
			return nil, err
		}
		out := &healthOutput{}
		out.Body.Status, out.Body.Version = "ok", s.cfg.Version
		if s.degraded != nil {
			if d := s.degraded(); d != "" {
				out.Body.Status, out.Body.Detail = "degraded", d
			}
		}
		return out, nil
	})
}
