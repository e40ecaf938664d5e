// Conversions between numpy arrays and the flat buffers of sim/: checked inputs (a wrong
// dtype is TypeError, a wrong shape ValueError naming the shape), read-only views into C++
// buffers kept alive by their owner, and copies.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

namespace darkmatter::python {

namespace py = pybind11;

// "(3, 17)" style text of a shape.
std::string ShapeText(const std::vector<int64_t>& shape);

// `value` as a C-contiguous float64 array of exactly `shape` (no copy when it already is
// one). `what` names the argument in messages. Throws py::type_error unless the values are
// real numbers (float or integer dtypes are converted; bool, complex, object and text are
// refused) and sim::BadInput (ValueError) on another shape.
py::array_t<double, py::array::c_style> RealArray(py::handle value,
                                                  const std::vector<int64_t>& shape,
                                                  const std::string& what);

// `value` as a C-contiguous bool array of exactly `shape`: bool or integer dtypes (non-zero
// is true); py::type_error for other dtypes, sim::BadInput (ValueError) on another shape.
py::array_t<bool, py::array::c_style> FlagArray(py::handle value,
                                                const std::vector<int64_t>& shape,
                                                const std::string& what);

// A read-only numpy view of `data` with `shape` (and optional byte strides) that keeps
// `owner` alive: no copy.
template <typename T>
py::array ReadOnlyView(const T* data, const std::vector<int64_t>& shape, py::handle owner,
                       std::vector<int64_t> strides = {}) {
  if (strides.empty()) {
    strides.assign(shape.size(), static_cast<int64_t>(sizeof(T)));
    for (int k = static_cast<int>(shape.size()) - 2; k >= 0; --k) {
      strides[k] = strides[k + 1] * shape[k + 1];
    }
  }
  py::array view(py::dtype::of<T>(), shape, strides, data, owner);
  py::detail::array_proxy(view.ptr())->flags &= ~py::detail::npy_api::NPY_ARRAY_WRITEABLE_;
  return view;
}

// A new numpy array holding a copy of `values` with `shape`.
template <typename T>
py::array_t<T> CopyArray(std::span<const T> values, const std::vector<int64_t>& shape) {
  py::array_t<T> out(shape);
  std::copy(values.begin(), values.end(), out.mutable_data());
  return out;
}

}  // namespace darkmatter::python
