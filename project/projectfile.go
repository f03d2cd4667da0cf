package project

import (
	"fmt"
	"regexp"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/elt-dev/elt/manifest"
)

var nameRE = regexp.MustCompile(`^[a-z_][a-z0-9_]*$`)

// projectKeys are the keys of project.yaml, dashes written as underscores
// (on-run-start and on_run_start are the same key).
var projectKeys = []string{"name", "target", "targets", "vars", "models", "seeds",
	"on_run_start", "on_run_end", "jobs", "alerts"}

// configKeys lists manifest.Keys, sorted.
var configKeys = sortedKeys(manifest.Keys)

// parseProject fills p from the root mapping of project.yaml.
func (c *fileCtx) parseProject(root *yaml.Node, p *Project, files *fileSet) {
	m := c.asMap(root, FileName, true)
	m.check(FileName, projectKeys...)

	if n := m.required("name", FileName); n != nil {
		p.Name = c.str(n, "name")
		if !nameRE.MatchString(p.Name) {
			fix := strings.Trim(nonName.ReplaceAllString(strings.ToLower(p.Name), "_"), "_")
			if fix == "" || fix[0] >= '0' && fix[0] <= '9' {
				fix = "_" + fix
			}
			c.errorf(n, "name %q must match [a-z_][a-z0-9_]* — e.g. name: %s", p.Name, fix)
		}
	}

	if tn := m.get("targets"); !isNull(tn) {
		tm := c.asMap(tn, `"targets"`, false)
		if tm != nil {
			for _, e := range tm.entries {
				if t := c.parseTarget(e); t != nil {
					p.Targets[t.Name] = t
				}
			}
		}
	}
	p.DefaultTarget = m.str("target")
	switch {
	case len(p.Targets) == 0 && isNull(m.get("targets")):
		name := p.DefaultTarget
		if name == "" {
			name = "dev"
		}
		p.DefaultTarget = name
		p.Targets[name] = &Target{Name: name, Path: "target/" + p.Name + ".duckdb", Threads: 4, Pos: p.Pos}
	case p.DefaultTarget != "":
		if _, ok := p.Targets[p.DefaultTarget]; !ok && len(p.Targets) > 0 {
			c.errorf(m.get("target"), "target %q is not defined under targets:%s", p.DefaultTarget, didYouMeanOr(p.DefaultTarget, sortedKeys(p.Targets)))
		}
	case len(p.Targets) == 1:
		p.DefaultTarget = sortedKeys(p.Targets)[0]
	case p.Targets["dev"] != nil:
		p.DefaultTarget = "dev"
	case len(p.Targets) > 1:
		c.errorf(m.get("targets"), "several targets and no default — add target: %s", sortedKeys(p.Targets)[0])
	}

	if vars := m.anyMap("vars"); vars != nil {
		p.Vars = vars
	}

	if n := m.get("models"); !isNull(n) {
		c.folderConfig(n, "models", p.ModelDefaults, files.dirs, p.Name)
		if hasKey(n, p.Name) && !files.dirs["models/"+p.Name] {
			p.RootsByName = append(p.RootsByName, "models")
		}
	}
	if n := m.get("seeds"); !isNull(n) {
		c.folderConfig(n, "seeds", p.SeedDefaults, files.dirs, p.Name)
		if hasKey(n, p.Name) && !files.dirs["seeds/"+p.Name] {
			p.RootsByName = append(p.RootsByName, "seeds")
		}
	}

	p.OnRunStart = c.hooks(m.get("on_run_start"), "on-run-start")
	p.OnRunEnd = c.hooks(m.get("on_run_end"), "on-run-end")

	if jn := m.get("jobs"); !isNull(jn) {
		if jm := c.asMap(jn, `"jobs"`, false); jm != nil {
			for _, e := range jm.entries {
				if j := c.parseJob(e); j != nil {
					p.Jobs[j.Name] = j
				}
			}
		}
	}
	for _, an := range m.seq("alerts") {
		if a := c.parseAlert(an); a != nil {
			p.Alerts = append(p.Alerts, a)
		}
	}
}

var nonName = regexp.MustCompile(`[^a-z0-9_]+`)

// didYouMeanOr suggests the closest name, or lists them all.
func didYouMeanOr(word string, names []string) string {
	if s := didYouMean(word, names); s != "" {
		return s
	}
	return " — defined: " + strings.Join(names, ", ")
}

func (c *fileCtx) parseTarget(e entry) *Target {
	where := fmt.Sprintf("target %q", e.Key)
	m := c.asMap(e.V, where, false)
	if m == nil {
		return nil
	}
	m.check(where, "path", "threads", "memory_limit", "settings")
	t := &Target{Name: e.Key, Pos: c.pos(e.K), Settings: map[string]string{}}
	t.Path = m.str("path")
	if t.Path == "" {
		c.errorf(e.K, "%s needs a path — e.g. path: target/%s.duckdb, or path: \":memory:\"", where, e.Key)
	}
	t.Threads = m.integer("threads", 4)
	if t.Threads < 1 {
		c.errorf(m.get("threads"), "\"threads\" must be at least 1, got %d", t.Threads)
		t.Threads = 1
	}
	t.MemoryLimit = m.str("memory_limit")
	if sn := m.get("settings"); !isNull(sn) {
		if sm := c.asMap(sn, `"settings"`, false); sm != nil {
			for _, s := range sm.entries {
				t.Settings[s.Key] = c.str(s.V, s.Key)
			}
		}
	}
	return t
}

// folderConfig reads the folder defaults at n into fc. where is the dotted
// path in project.yaml ("models.staging"); keys with a leading "+" are
// config keys, the others subfolders. A subfolder that does not exist is a
// warning; a bare config key is an error.
func (c *fileCtx) folderConfig(n *yaml.Node, where string, fc *FolderConfig, dirs map[string]bool, projectName string) {
	m := c.asMap(n, fmt.Sprintf("%q", where), false)
	if m == nil {
		return
	}
	dir := strings.ReplaceAll(where, ".", "/")
	for _, e := range m.entries {
		if strings.HasPrefix(e.Key, "+") {
			key := strings.ReplaceAll(e.Key[1:], "-", "_")
			if _, ok := manifest.Keys[key]; !ok {
				c.unknownKey(e.K, e.Key, where, configKeys, "+")
				continue
			}
			if _, dup := fc.Config[key]; dup {
				c.errorf(e.K, "config key %q is set twice in %s — keep one", e.Key, where)
				continue
			}
			fc.Config[key] = c.configValue(e.V)
			continue
		}
		sub := dir + "/" + e.Key
		if !dirs[sub] {
			// dbt nests folder defaults under the project's name; accept that
			// level as the root when no folder of that name exists.
			if !strings.Contains(where, ".") && e.Key == projectName {
				c.folderConfig(e.V, where, fc, dirs, "")
				continue
			}
			if _, isKey := manifest.Keys[strings.ReplaceAll(e.Key, "-", "_")]; isKey {
				c.errorf(e.K, "%q under %s names no folder of %s/ — config keys take a leading \"+\": write \"+%s\"", e.Key, where, dir, e.Key)
				continue
			}
			var siblings []string
			for d := range dirs {
				if path, ok := strings.CutPrefix(d, dir+"/"); ok && !strings.Contains(path, "/") {
					siblings = append(siblings, path)
				}
			}
			hint := didYouMean(e.Key, siblings)
			if hint == "" {
				hint = " — check the spelling or remove it"
			}
			c.errs.Warnf(c.pos(e.K), "%s.%s matches no folder %s/%s%s", where, e.Key, dir, e.Key, hint)
		}
		child := fc.Children[e.Key]
		if child == nil {
			child = newFolderConfig()
			fc.Children[e.Key] = child
		}
		c.folderConfig(e.V, where+"."+e.Key, child, dirs, "")
	}
}

func newFolderConfig() *FolderConfig {
	return &FolderConfig{Config: ConfigMap{}, Children: map[string]*FolderConfig{}}
}

// hooks reads a hook setting: one SQL string or a list of them.
func (c *fileCtx) hooks(n *yaml.Node, key string) []Hook {
	n = deref(n)
	if isNull(n) {
		return nil
	}
	items := []*yaml.Node{n}
	if n.Kind == yaml.SequenceNode {
		items = n.Content
	}
	var out []Hook
	for _, item := range items {
		item = deref(item)
		if item.Kind != yaml.ScalarNode || isNull(item) {
			c.errorf(item, "%q must be a SQL string or a list of them, got %s", key, describe(item))
			continue
		}
		out = append(out, Hook{SQL: item.Value, Pos: c.pos(item)})
	}
	return out
}

func (c *fileCtx) parseJob(e entry) *Job {
	where := fmt.Sprintf("job %q", e.Key)
	m := c.asMap(e.V, where, false)
	if m == nil {
		return nil
	}
	m.check(where, "schedule", "timezone", "command", "start_date", "catchup", "retries", "retry_delay", "vars")
	j := &Job{Name: e.Key, Pos: c.pos(e.K)}
	if n := m.required("schedule", where); n != nil {
		j.Schedule = c.str(n, "schedule")
	}
	if n := m.required("command", where); n != nil {
		j.Command = c.str(n, "command")
	}
	j.Timezone = m.str("timezone")
	j.StartDate = m.str("start_date")
	j.Catchup = m.boolean("catchup")
	j.Retries = m.integer("retries", 0)
	if j.Retries < 0 {
		c.errorf(m.get("retries"), "\"retries\" must not be negative, got %d", j.Retries)
		j.Retries = 0
	}
	j.Vars = m.anyMap("vars")
	j.RetryDelay = m.str("retry_delay")
	return j
}

var alertEvents = []string{"failure", "warn", "recovery"}

func (c *fileCtx) parseAlert(n *yaml.Node) *Alert {
	m := c.asMap(n, "each alert", false)
	if m == nil {
		return nil
	}
	m.check("alert", "on", "webhook", "command")
	a := &Alert{Pos: c.pos(n)}
	if on := m.required("on", "alert"); on != nil {
		a.On = c.strList(on, "on")
		for _, ev := range a.On {
			if !contains(alertEvents, ev) {
				c.errorf(on, "alert event %q is not one of %s%s", ev, strings.Join(alertEvents, ", "), didYouMean(ev, alertEvents))
			}
		}
	}
	a.Webhook = m.str("webhook")
	a.Command = m.str("command")
	if (a.Webhook == "") == (a.Command == "") && !m.misspelt("webhook") && !m.misspelt("command") {
		c.errorf(deref(n), "an alert needs exactly one of webhook: or command:")
	}
	return a
}

// hasKey reports whether the YAML mapping n has the key.
func hasKey(n *yaml.Node, key string) bool {
	n = deref(n)
	if n == nil || n.Kind != yaml.MappingNode {
		return false
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == key {
			return true
		}
	}
	return false
}
