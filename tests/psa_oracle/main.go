// Command psa-oracle evaluates Pods with the upstream Kubernetes Pod Security
// Standards library (k8s.io/pod-security-admission) so that pytest-k8shardening's
// own checks can be compared against it.
//
// Input (stdin), JSON:
//
//	{"version": "latest" | "v1.N",            // optional, default "latest"
//	 "cases": [{"name": "...", "pod": <v1 Pod>}, ...]}
//
// Output (stdout), JSON:
//
//	{"library": "k8s.io/pod-security-admission v0.36.3",
//	 "version": "<as requested>", "effective_version": "v1.35",
//	 "check_versions": {"<check ID>": "v1.N", ...},   // VersionedCheck picked per check
//	 "not_applicable": ["<check ID>", ...],           // checks with no version <= effective
//	 "results": [{"name": "...",
//	              "checks": {"<check ID>": {"level": "baseline|restricted", "allowed": bool,
//	                                         "reason": "...", "detail": "...",
//	                                         "overridden_by": ["<restricted check ID>"]}},
//	              "baseline_allowed": bool, "restricted_allowed": bool,
//	              "baseline":   {"allowed": bool, "reason": "...", "detail": "..."},
//	              "restricted": {"allowed": bool, "reason": "...", "detail": "..."}}]}
//
// Every check in policy.DefaultChecks() is run individually (the VersionedCheck is
// chosen exactly like the library's evaluator does), and the per-level aggregate
// comes from policy.NewEvaluator(...).EvaluatePod(api.LevelVersion{...}). The program
// cross-checks the two and exits 3 if they ever disagree.
//
// Exit codes: 0 ok; 2 bad input (message on stderr names the case); 3 internal
// inconsistency; 1 other errors.
package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"runtime/debug"
	"sort"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/pod-security-admission/api"
	"k8s.io/pod-security-admission/policy"
	sigsjson "sigs.k8s.io/json"
)

const libraryModule = "k8s.io/pod-security-admission"

type inputCase struct {
	Name string          `json:"name"`
	Pod  json.RawMessage `json:"pod"`
}

type input struct {
	Version string      `json:"version"`
	Cases   []inputCase `json:"cases"`
}

type checkOut struct {
	Level        string   `json:"level"`
	Allowed      bool     `json:"allowed"`
	Reason       string   `json:"reason"`
	Detail       string   `json:"detail"`
	OverriddenBy []string `json:"overridden_by,omitempty"`
}

type aggregateOut struct {
	Allowed bool   `json:"allowed"`
	Reason  string `json:"reason"`
	Detail  string `json:"detail"`
}

type resultOut struct {
	Name              string              `json:"name"`
	Checks            map[string]checkOut `json:"checks"`
	BaselineAllowed   bool                `json:"baseline_allowed"`
	RestrictedAllowed bool                `json:"restricted_allowed"`
	Baseline          aggregateOut        `json:"baseline"`
	Restricted        aggregateOut        `json:"restricted"`
}

type output struct {
	Library          string            `json:"library"`
	Version          string            `json:"version"`
	EffectiveVersion string            `json:"effective_version"`
	CheckVersions    map[string]string `json:"check_versions"`
	NotApplicable    []string          `json:"not_applicable"`
	Results          []resultOut       `json:"results"`
}

// selected is one check resolved for the effective version.
type selected struct {
	id      string
	level   api.Level
	version api.Version
	fn      policy.CheckPodFn
	// overrides are the (baseline) check IDs this restricted check replaces at this version.
	overrides []policy.CheckID
}

type inputError struct{ msg string }

func (e *inputError) Error() string { return e.msg }

func inputErrorf(format string, a ...any) error {
	return &inputError{msg: fmt.Sprintf(format, a...)}
}

type inconsistencyError struct{ msg string }

func (e *inconsistencyError) Error() string { return e.msg }

func libraryVersion() string {
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, m := range bi.Deps {
			if m.Path == libraryModule {
				if m.Replace != nil {
					return m.Path + " " + m.Replace.Version
				}
				return m.Path + " " + m.Version
			}
		}
	}
	return libraryModule + " (unknown version)"
}

// maxCheckVersion mirrors policy.populate: the max over checks of the last MinimumVersion.
func maxCheckVersion(checks []policy.Check) api.Version {
	var maxV api.Version
	for _, c := range checks {
		last := c.Versions[len(c.Versions)-1].MinimumVersion
		if maxV.Older(last) {
			maxV = last
		}
	}
	return maxV
}

// effectiveVersion mirrors checkRegistry.EvaluatePod (with a nil emulation version):
// a requested version newer than every check's newest MinimumVersion ("latest"
// included) is clamped to that maximum.
func effectiveVersion(requested api.Version, checks []policy.Check) api.Version {
	maxV := maxCheckVersion(checks)
	if maxV.Older(requested) {
		return maxV
	}
	return requested
}

// selectChecks mirrors policy.inflateVersions: for each check, the VersionedCheck in
// force at version v is the last one whose MinimumVersion <= v; checks whose first
// MinimumVersion is newer than v do not apply at all.
func selectChecks(checks []policy.Check, v api.Version) (applicable []selected, notApplicable []string) {
	for _, c := range checks {
		idx := -1
		for i, vc := range c.Versions {
			if !v.Older(vc.MinimumVersion) { // MinimumVersion <= v
				idx = i
			}
		}
		if idx < 0 {
			notApplicable = append(notApplicable, string(c.ID))
			continue
		}
		vc := c.Versions[idx]
		applicable = append(applicable, selected{
			id:        string(c.ID),
			level:     c.Level,
			version:   vc.MinimumVersion,
			fn:        vc.CheckPod,
			overrides: vc.OverrideCheckIDs,
		})
	}
	sort.Slice(applicable, func(i, j int) bool { return applicable[i].id < applicable[j].id })
	sort.Strings(notApplicable)
	return applicable, notApplicable
}

func decodePod(c inputCase, idx int) (*corev1.Pod, error) {
	label := fmt.Sprintf("case %d (%q)", idx, c.Name)
	raw := strings.TrimSpace(string(c.Pod))
	if raw == "" || raw == "null" {
		return nil, inputErrorf("%s: missing \"pod\"", label)
	}
	pod := &corev1.Pod{}
	strictErrs, err := sigsjson.UnmarshalStrict(c.Pod, pod)
	if err != nil {
		return nil, inputErrorf("%s: cannot decode pod: %v", label, err)
	}
	if len(strictErrs) > 0 {
		msgs := make([]string, 0, len(strictErrs))
		for _, e := range strictErrs {
			msgs = append(msgs, e.Error())
		}
		return nil, inputErrorf("%s: strict decoding error: %s", label, strings.Join(msgs, "; "))
	}
	if pod.APIVersion != "v1" || pod.Kind != "Pod" {
		return nil, inputErrorf("%s: expected apiVersion \"v1\" and kind \"Pod\", got apiVersion %q kind %q", label, pod.APIVersion, pod.Kind)
	}
	return pod, nil
}

func toAggregate(results []policy.CheckResult) aggregateOut {
	agg := policy.AggregateCheckResults(results)
	return aggregateOut{Allowed: agg.Allowed, Reason: agg.ForbiddenReason(), Detail: agg.ForbiddenDetail()}
}

func run(stdin io.Reader, stdout io.Writer) error {
	data, err := io.ReadAll(stdin)
	if err != nil {
		return fmt.Errorf("reading stdin: %w", err)
	}
	var in input
	strictErrs, err := sigsjson.UnmarshalStrict(data, &in)
	if err != nil {
		return inputErrorf("cannot decode input document: %v", err)
	}
	if len(strictErrs) > 0 {
		msgs := make([]string, 0, len(strictErrs))
		for _, e := range strictErrs {
			msgs = append(msgs, e.Error())
		}
		// A strict error inside a case's pod cannot surface here (pods are RawMessage),
		// so these are envelope errors (unknown/duplicate top-level or case fields).
		return inputErrorf("strict decoding error in input document: %s", strings.Join(msgs, "; "))
	}
	if in.Version == "" {
		in.Version = api.VersionLatest
	}
	requested, err := api.ParseVersion(in.Version)
	if err != nil {
		return inputErrorf("invalid version %q: %v", in.Version, err)
	}

	checks := policy.DefaultChecks()
	evaluator, err := policy.NewEvaluator(checks, nil)
	if err != nil {
		return fmt.Errorf("building evaluator: %w", err)
	}
	effective := effectiveVersion(requested, checks)
	applicable, notApplicable := selectChecks(checks, effective)

	overriddenBy := map[string][]string{}
	for _, s := range applicable {
		if s.level != api.LevelRestricted {
			continue
		}
		for _, o := range s.overrides {
			overriddenBy[string(o)] = append(overriddenBy[string(o)], s.id)
		}
	}

	out := output{
		Library:          libraryVersion(),
		Version:          in.Version,
		EffectiveVersion: effective.String(),
		CheckVersions:    map[string]string{},
		NotApplicable:    notApplicable,
		Results:          make([]resultOut, 0, len(in.Cases)),
	}
	if out.NotApplicable == nil {
		out.NotApplicable = []string{}
	}
	for _, s := range applicable {
		out.CheckVersions[s.id] = s.version.String()
	}

	seen := map[string]int{}
	for i, c := range in.Cases {
		if c.Name == "" {
			return inputErrorf("case %d: missing or empty \"name\"", i)
		}
		if j, dup := seen[c.Name]; dup {
			return inputErrorf("case %d (%q): duplicate name (also case %d)", i, c.Name, j)
		}
		seen[c.Name] = i
		pod, err := decodePod(c, i)
		if err != nil {
			return err
		}

		res := resultOut{Name: c.Name, Checks: map[string]checkOut{}}
		// Individual checks, in the evaluator's order: baseline IDs sorted, then restricted IDs sorted.
		var baselineIndiv, restrictedIndiv []policy.CheckResult
		for _, lvl := range []api.Level{api.LevelBaseline, api.LevelRestricted} {
			for _, s := range applicable {
				if s.level != lvl {
					continue
				}
				r := s.fn(&pod.ObjectMeta, &pod.Spec)
				res.Checks[s.id] = checkOut{
					Level:        string(s.level),
					Allowed:      r.Allowed,
					Reason:       r.ForbiddenReason,
					Detail:       r.ForbiddenDetail,
					OverriddenBy: overriddenBy[s.id],
				}
				if s.level == api.LevelBaseline {
					baselineIndiv = append(baselineIndiv, r)
					if len(overriddenBy[s.id]) == 0 {
						restrictedIndiv = append(restrictedIndiv, r)
					}
				} else {
					restrictedIndiv = append(restrictedIndiv, r)
				}
			}
		}

		// Aggregates from the library's own evaluator.
		baselineResults := evaluator.EvaluatePod(api.LevelVersion{Level: api.LevelBaseline, Version: requested}, &pod.ObjectMeta, &pod.Spec)
		restrictedResults := evaluator.EvaluatePod(api.LevelVersion{Level: api.LevelRestricted, Version: requested}, &pod.ObjectMeta, &pod.Spec)
		res.Baseline = toAggregate(baselineResults)
		res.Restricted = toAggregate(restrictedResults)
		res.BaselineAllowed = res.Baseline.Allowed
		res.RestrictedAllowed = res.Restricted.Allowed

		// Cross-check: our per-check version selection must reproduce the evaluator exactly.
		if got, want := toAggregate(baselineIndiv), res.Baseline; got != want {
			return &inconsistencyError{fmt.Sprintf("case %d (%q): individual baseline checks %+v disagree with evaluator %+v", i, c.Name, got, want)}
		}
		if got, want := toAggregate(restrictedIndiv), res.Restricted; got != want {
			return &inconsistencyError{fmt.Sprintf("case %d (%q): individual restricted checks %+v disagree with evaluator %+v", i, c.Name, got, want)}
		}
		if len(baselineIndiv) != len(baselineResults) || len(restrictedIndiv) != len(restrictedResults) {
			return &inconsistencyError{fmt.Sprintf("case %d (%q): check count mismatch: baseline %d vs evaluator %d, restricted %d vs evaluator %d",
				i, c.Name, len(baselineIndiv), len(baselineResults), len(restrictedIndiv), len(restrictedResults))}
		}
		out.Results = append(out.Results, res)
	}

	w := bufio.NewWriter(stdout)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(out); err != nil {
		return fmt.Errorf("writing output: %w", err)
	}
	return w.Flush()
}

type checkInfo struct {
	ID       string             `json:"id"`
	Level    string             `json:"level"`
	Versions []checkVersionInfo `json:"versions"`
}

type checkVersionInfo struct {
	MinimumVersion string   `json:"minimum_version"`
	Overrides      []string `json:"overrides,omitempty"`
}

func listChecks(stdout io.Writer) error {
	checks := policy.DefaultChecks()
	infos := make([]checkInfo, 0, len(checks))
	for _, c := range checks {
		ci := checkInfo{ID: string(c.ID), Level: string(c.Level)}
		for _, vc := range c.Versions {
			vi := checkVersionInfo{MinimumVersion: vc.MinimumVersion.String()}
			for _, o := range vc.OverrideCheckIDs {
				vi.Overrides = append(vi.Overrides, string(o))
			}
			ci.Versions = append(ci.Versions, vi)
		}
		infos = append(infos, ci)
	}
	sort.Slice(infos, func(i, j int) bool { return infos[i].ID < infos[j].ID })
	enc := json.NewEncoder(stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(map[string]any{
		"library":            libraryVersion(),
		"max_version":        maxCheckVersion(checks).String(),
		"checks":             infos,
		"experimental_count": len(policy.ExperimentalChecks()),
	})
}

func main() {
	showVersion := flag.Bool("version", false, "print the pod-security-admission module version and exit")
	list := flag.Bool("list-checks", false, "print every default check with its versions and overrides as JSON and exit")
	flag.Usage = func() {
		fmt.Fprintf(flag.CommandLine.Output(), "usage: psa-oracle [-version | -list-checks] < input.json > output.json\n")
		flag.PrintDefaults()
	}
	flag.Parse()
	if flag.NArg() != 0 {
		flag.Usage()
		os.Exit(2)
	}
	var err error
	switch {
	case *showVersion:
		_, err = fmt.Println(libraryVersion())
	case *list:
		err = listChecks(os.Stdout)
	default:
		err = run(os.Stdin, os.Stdout)
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "psa-oracle: %v\n", err)
		var ie *inputError
		var ce *inconsistencyError
		switch {
		case errors.As(err, &ie):
			os.Exit(2)
		case errors.As(err, &ce):
			os.Exit(3)
		default:
			os.Exit(1)
		}
	}
}
