package ui

import (
	"slices"
	"strings"

	"github.com/purista-go/purista/internal/devenv/devmsg"
	"github.com/purista-go/purista/internal/project"
	"github.com/purista-go/purista/pkg/framework"
)

// applyServices follows a change of the project's services: the Services table and the
// process rows become the new set (rows that stay keep their counters), the commands of
// removed services leave the invoke dialog, and a log filter on a removed service falls
// back to all services. The change is announced in the info lines.
func (m *Model) applyServices(v devmsg.ServicesMsg) {
	services := make([]*serviceRow, 0, len(v.Services))
	for _, s := range v.Services {
		row := m.service(s.Name)
		if row == nil || row.version != s.Version {
			row = &serviceRow{name: s.Name, version: s.Version, state: "pending"}
		}
		services = append(services, row)
	}
	m.services = services
	units := make([]*unitRow, 0, len(v.Units))
	for _, name := range v.Units {
		i := slices.IndexFunc(m.units, func(u *unitRow) bool { return u.name == name })
		if i >= 0 {
			units = append(units, m.units[i])
		} else {
			units = append(units, &unitRow{name: name, state: "pending"})
		}
	}
	m.units = units
	m.selUnit = min(m.selUnit, max(len(m.units)-1, 0))
	m.commands = slices.DeleteFunc(m.commands, func(c framework.CommandInfo) bool {
		return !slices.ContainsFunc(v.Services, func(s project.Service) bool {
			return strings.EqualFold(s.Name, c.Service) && s.Version == c.Version
		})
	})
	if m.logService != "" && m.service(m.logService) == nil {
		m.logService = ""
	}
	m.info = appendCapped(m.info, devmsg.InfoMsg{Text: v.Text()}, 3)
}
