#include "python/arrays.h"

#include "sim/error.h"

namespace darkmatter::python {

std::string ShapeText(const std::vector<int64_t>& shape) {
  std::string text = "(";
  for (size_t k = 0; k < shape.size(); ++k) {
    text += (k ? ", " : "") + std::to_string(shape[k]);
  }
  return text + (shape.size() == 1 ? ",)" : ")");
}

namespace {

// `value` as a numpy array whose dtype kind is one of `kinds` and whose shape is `shape`
// (py::type_error naming `expected` for another dtype, sim::BadInput for another shape).
py::array CheckedArray(py::handle value, const std::vector<int64_t>& shape,
                       const std::string& what, const std::string& kinds,
                       const std::string& expected) {
  py::array array = py::array::ensure(value);
  if (!array) {
    PyErr_Clear();
    throw py::type_error(what + ": expected " + expected + ", got " +
                         std::string(py::str(py::type::handle_of(value).attr("__name__"))));
  }
  if (kinds.find(array.dtype().kind()) == std::string::npos) {
    throw py::type_error(what + ": expected " + expected + ", got dtype " +
                         std::string(py::str(array.dtype())));
  }
  std::vector<int64_t> got(array.shape(), array.shape() + array.ndim());
  if (got != shape) {
    throw sim::BadInput(what + ": expected shape " + ShapeText(shape) + ", got " +
                        ShapeText(got));
  }
  return array;
}

}  // namespace

py::array_t<double, py::array::c_style> RealArray(py::handle value,
                                                  const std::vector<int64_t>& shape,
                                                  const std::string& what) {
  py::array array = CheckedArray(value, shape, what, "fiu", "a float array");
  return py::array_t<double, py::array::c_style | py::array::forcecast>::ensure(array);
}

py::array_t<bool, py::array::c_style> FlagArray(py::handle value,
                                                const std::vector<int64_t>& shape,
                                                const std::string& what) {
  py::array array = CheckedArray(value, shape, what, "biu", "a bool array");
  return py::array_t<bool, py::array::c_style | py::array::forcecast>::ensure(array);
}

}  // namespace darkmatter::python
