package agent

import (
	"encoding/json"
	"fmt"
	"net/http"

	"github.com/spdoc/spdoc/diagnose"
	"github.com/spdoc/spdoc/internal/api"
	"github.com/spdoc/spdoc/internal/kubeletlog"
	"github.com/spdoc/spdoc/internal/podlog"
	"github.com/spdoc/spdoc/internal/redact"
)

// What each role sees (README "Agent API: roles"): every answer that carries node data — static
// pods, statuses, findings, the report, the snapshot, container and kubelet logs — goes through
// the redactor `spdoc diagnose` and the support bundle use, for readers and admins alike. An
// admin may ask for the raw data with ?raw=1 (logged with who asked); a reader asking gets 403.
// The agent keeps one key for its lifetime, so a secret gives the same token in every answer.

// view redacts what one request receives; red is nil for an admin's raw request.
type view struct{ red *redact.Redactor }

// viewFor decides how r sees the node; false when it was refused (the answer is written).
func (s *server) viewFor(w http.ResponseWriter, r *http.Request) (view, bool) {
	if !boolParam(r.URL.Query().Get(api.ParamRaw)) {
		return view{red: s.red}, true
	}
	id := IdentityOf(r)
	if id == nil || id.Role != api.RoleAdmin {
		writeError(w, http.StatusForbidden, fmt.Sprintf("%s may not read unredacted data: ?%s=1 needs role %s", id, api.ParamRaw, api.RoleAdmin))
		return view{}, false
	}
	s.log.Info("raw read", "path", r.URL.Path, "who", id.Name, "role", id.Role, "via", id.Via)
	return view{}, true
}

// copyOf returns x redacted (a deep copy: the agent's own state is never touched).
func copyOf[T any](v view, x T) T {
	if v.red == nil {
		return x
	}
	b, err := json.Marshal(x)
	if err != nil {
		var zero T
		return zero // never hand out unredacted data
	}
	var out T
	if err := json.Unmarshal(b, &out); err != nil {
		var zero T
		return zero
	}
	v.red.Value(&out)
	return out
}

// report redacts a report exactly as `spdoc diagnose` and the bundle do (Report.Redact).
func (v view) report(rep *diagnose.Report) *diagnose.Report {
	if v.red == nil || rep == nil {
		return rep
	}
	b, err := json.Marshal(rep)
	if err != nil {
		return &diagnose.Report{}
	}
	var out diagnose.Report
	if err := json.Unmarshal(b, &out); err != nil {
		return &diagnose.Report{}
	}
	out.Redact(v.red.String)
	return &out
}

// lines returns a redactor for one log stream (PEM blocks span lines), nil for raw.
func (v view) lines() *redact.LineRedactor {
	if v.red == nil {
		return nil
	}
	return v.red.Lines()
}

func redactedPodLine(lr *redact.LineRedactor, l podlog.Line) podlog.Line {
	if lr != nil {
		l.Msg = lr.Line(l.Msg)
	}
	return l
}

func redactedRecord(v view, lr *redact.LineRedactor, rec kubeletlog.Record) kubeletlog.Record {
	if lr == nil {
		return rec
	}
	raw := lr.Line(rec.Raw)
	if len(rec.Fields) > 0 {
		f := make(map[string]string, len(rec.Fields))
		for k, val := range rec.Fields {
			f[k] = val
		}
		rec.Fields = f
	}
	rec.Raw = ""
	v.red.Value(&rec)
	rec.Raw = raw
	return rec
}
