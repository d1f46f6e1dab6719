// Package recipes owns the per-batch pretreatment recipe: its file format,
// parsing, and validation against the equipment limits of a plant. A recipe
// names its waste class, its parameters with explicit units, and the ordered
// phases of its procedure.
//
// It imports no other pretreat package and never touches equipment: a recipe
// that fails validation is rejected with every problem located as
// file:line:column, so that a typo never reaches the plant.
package recipes
