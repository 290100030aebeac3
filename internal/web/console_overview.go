package web

import (
	"fmt"
	"net/http"
	"time"

	"github.com/userd/userd/internal/feature/admin"
)

// chartDay is a day of the overview's chart: its counts and their bars.
type chartDay struct {
	Day                    string
	Label                  bool // the day's date is written under it
	Signups, Logins        int
	X, SignupY, SignupH    int
	LoginX, LoginY, LoginH int
}

// overviewPage is the overview: counts and the chart.
type overviewPage struct {
	admin.Overview
	Days          []chartDay
	Max           int
	Width, Height int
	Base          int // the chart's baseline, in pixels from the top
	Summary       string
}

// The chart's geometry, in pixels.
const (
	chartLeft  = 40
	chartBar   = 10
	chartStep  = 24
	chartTall  = 160
	chartTop   = 20
	chartBelow = 40
)

// consoleOverview shows the counts and the chart of sign-ups and log-ins
// per day, drawn here as SVG with a table of the same numbers.
func (s *Server) consoleOverview(w http.ResponseWriter, r *http.Request, v *consoleView) {
	v.Title = "Overview"
	o, err := s.admin.Overview(r.Context(), v.Can(usersRead), v.Can(logsRead))
	if err != nil {
		s.consoleFail(w, r, v, v.Title, err)
		return
	}
	v.Data = overviewOf(o)
	s.render(w, http.StatusOK, "overview", v)
}

// overviewOf lays the chart out.
func overviewOf(o admin.Overview) overviewPage {
	p := overviewPage{Overview: o, Max: 1, Base: chartTop + chartTall}
	p.Width, p.Height = chartLeft+len(o.Signups)*chartStep+10, chartTop+chartTall+chartBelow
	sum := [2]int{}
	for i := range o.Signups {
		p.Max = max(p.Max, o.Signups[i], o.Logins[i])
		sum[0] += o.Signups[i]
		sum[1] += o.Logins[i]
	}
	for i := range o.Signups {
		d := chartDay{Day: o.From.AddDate(0, 0, i).Format(time.DateOnly), Label: i%5 == 0 || i == len(o.Signups)-1,
			Signups: o.Signups[i], Logins: o.Logins[i], X: chartLeft + i*chartStep}
		d.SignupH = o.Signups[i] * chartTall / p.Max
		d.LoginH = o.Logins[i] * chartTall / p.Max
		d.SignupY, d.LoginY, d.LoginX = p.Base-d.SignupH, p.Base-d.LoginH, d.X+chartBar
		p.Days = append(p.Days, d)
	}
	p.Summary = fmt.Sprintf("Over the last %d days: %d sign-ups and %d log-ins; the busiest day had %d.", len(o.Signups), sum[0], sum[1], p.Max)
	return p
}
