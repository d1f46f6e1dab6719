package hmi

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/rivo/tview"

	"github.com/pretreat/pretreat/historian/records"
)

// pageDelivery is the weighbridge form: the reception books a load.
const pageDelivery = "delivery"

// deliveryForm is the booking form and the classes it offers.
type deliveryForm struct {
	form    *tview.Form
	classes []string
}

// newDeliveryForm builds the form; its buttons call back into h.
func (h *hmi) newDeliveryForm() *tview.Form {
	f := tview.NewForm()
	f.SetBorder(true).SetTitle(" Book a delivery (Tab next field, Esc cancel) ")
	f.AddInputField("Ticket", "", 24, nil, nil).
		AddInputField("Supplier", "", 32, nil, nil).
		AddInputField("Haulier", "", 32, nil, nil).
		AddInputField("Vehicle", "", 12, nil, nil).
		AddDropDown("Declared class", []string{"(loading)"}, 0, nil).
		AddInputField("EWC code", "20 01 08", 10, nil, nil).
		AddInputField("Gross kg", "", 10, tview.InputFieldFloat, nil).
		AddInputField("Tare kg", "", 10, tview.InputFieldFloat, nil).
		AddInputField("Notes", "", 40, nil, nil)
	return f
}

// openDelivery shows the booking form, with the recipes' classes to choose.
func (h *hmi) openDelivery(ctx context.Context) {
	if !h.mayCommand("book delivery") {
		return
	}
	f := h.delivery.form
	// A fresh form for every load; the EWC code keeps its usual value.
	for i := range f.GetFormItemCount() {
		if in, ok := f.GetFormItem(i).(*tview.InputField); ok && in.GetLabel() != "EWC code" {
			in.SetText("")
		}
	}
	f.ClearButtons()
	f.AddButton("Book", func() { h.bookDelivery(ctx) })
	f.AddButton("Cancel", func() {
		h.closeDelivery()
		h.setMessage("delivery not booked")
	})
	h.setDeliveryClasses(h.delivery.classes)
	h.spawn(ctx, func(ctx context.Context) {
		rs, err := h.client.Recipes(ctx)
		if err != nil {
			return
		}
		var classes []string
		for _, r := range rs {
			if !slices.Contains(classes, r.WasteClass) {
				classes = append(classes, r.WasteClass)
			}
		}
		h.post(func() { h.setDeliveryClasses(classes) })
	})
	h.pages.ShowPage(pageDelivery)
	f.SetFocus(0)
	h.app.SetFocus(f)
	h.setMode(modeDelivery)
}

// setDeliveryClasses offers the classes the controller's recipes treat.
func (h *hmi) setDeliveryClasses(classes []string) {
	if len(classes) == 0 {
		classes = []string{"(loading)"}
	} else {
		h.delivery.classes = classes
	}
	if dd, ok := h.delivery.form.GetFormItemByLabel("Declared class").(*tview.DropDown); ok {
		_, cur := dd.GetCurrentOption()
		i := max(0, slices.Index(classes, cur))
		dd.SetOptions(classes, nil).SetCurrentOption(i)
	}
}

// closeDelivery hides the form.
func (h *hmi) closeDelivery() { h.closeDialog(pageDelivery) }

// deliveryFromForm reads the form; it says what is wrong, field by field.
func (h *hmi) deliveryFromForm() (records.Delivery, error) {
	f := h.delivery.form
	text := func(label string) string {
		if in, ok := f.GetFormItemByLabel(label).(*tview.InputField); ok {
			return strings.TrimSpace(in.GetText())
		}
		return ""
	}
	d := records.Delivery{Ticket: text("Ticket"), Supplier: text("Supplier"), Haulier: text("Haulier"), Vehicle: text("Vehicle"),
		EWC: text("EWC code"), Notes: text("Notes")}
	if h.session != nil {
		d.Operator = h.session.User
	}
	if dd, ok := f.GetFormItemByLabel("Declared class").(*tview.DropDown); ok {
		_, d.WasteClass = dd.GetCurrentOption()
	}
	if !slices.Contains(h.delivery.classes, d.WasteClass) {
		return d, fmt.Errorf("declared class: the recipes' classes have not loaded yet")
	}
	var missing []string
	for _, f := range []struct{ label, v string }{{"Ticket", d.Ticket}, {"Supplier", d.Supplier}} {
		if f.v == "" {
			missing = append(missing, f.label)
		}
	}
	if len(missing) > 0 {
		return d, fmt.Errorf("%s required", strings.Join(missing, " and "))
	}
	var err error
	if d.GrossKg, err = strconv.ParseFloat(text("Gross kg"), 64); err != nil || d.GrossKg <= 0 {
		return d, fmt.Errorf("gross kg: a weight above 0")
	}
	if d.TareKg, err = strconv.ParseFloat(text("Tare kg"), 64); err != nil || d.TareKg < 0 || d.TareKg >= d.GrossKg {
		return d, fmt.Errorf("tare kg: a weight from 0 to below the gross")
	}
	d.NetKg = d.GrossKg - d.TareKg
	return d, nil
}

// bookDelivery sends the form to the controller from a worker.
func (h *hmi) bookDelivery(ctx context.Context) {
	d, err := h.deliveryFromForm()
	if err != nil {
		h.setMessage(paint(colorWarn, alarmMark+"delivery: "+esc(err.Error())))
		return
	}
	h.closeDelivery()
	if h.spawn(ctx, func(ctx context.Context) {
		got, err := h.client.AddDelivery(ctx, d)
		h.post(func() {
			if err != nil {
				h.setMessage(paint(colorWarn, alarmMark+"delivery "+esc(d.Ticket)+" not booked: "+esc(shortError(err))))
				return
			}
			h.setMessage(fmt.Sprintf("delivery %s booked: %s, %s, %.0f kg net", esc(got.Ticket), esc(got.Supplier), esc(got.WasteClass), got.NetKg))
		})
	}) {
		h.setMessage("booking delivery " + esc(d.Ticket) + "…")
	}
}
