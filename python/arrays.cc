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

py::array_t<double, py::array::c_style> RealArray(py::handle value,
                                                  const std::vector<int64_t>& shape,
                                                  const std::string& what) {
  py::array array = py::array::ensure(value);
  if (!array) {
    PyErr_Clear();
    throw py::type_error(what + ": expected an array of real numbers, got " +
                         std::string(py::str(py::type::handle_of(value).attr("__name__"))));
  }
  const char kind = array.dtype().kind();
  if (kind != 'f' && kind != 'i' && kind != 'u') {
    throw py::type_error(what + ": expected a float array, got dtype " +
                         std::string(py::str(array.dtype())));
  }
  std::vector<int64_t> got(array.shape(), array.shape() + array.ndim());
  if (got != shape) {
    throw sim::BadInput(what + ": expected shape " + ShapeText(shape) + ", got " +
                        ShapeText(got));
  }
  return py::array_t<double, py::array::c_style | py::array::forcecast>::ensure(array);
}

}  // namespace darkmatter::python
