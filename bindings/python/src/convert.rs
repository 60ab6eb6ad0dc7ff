//! Copies between Python values and the JSON values the sandbox takes and gives.
//!
//! Python → guest: `None`, `bool`, `int` (exact up to 2^53), `float`, `str`, `list`, `tuple`,
//! `dict` with `str` keys; anything else, a cycle or nesting deeper than
//! [`sandvm::MAX_JSON_DEPTH`] is a `TypeError` naming where it was found. Guest → Python:
//! the JSON form of the value (`undefined` and values with no JSON form become `None`).

use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::types::{PyBool, PyDict, PyFloat, PyInt, PyList, PyString, PyTuple};
use serde_json::{Map, Number, Value as Json};

/// Largest integer a JavaScript number holds exactly (2^53).
const EXACT: i128 = 1 << 53;

/// Copies a Python value into JSON.
///
/// # Errors
/// `TypeError` for an unsupported type, a non-`str` dict key, an integer beyond 2^53, a
/// non-finite float, a cycle, or nesting deeper than [`sandvm::MAX_JSON_DEPTH`].
pub fn to_json(v: &Bound<'_, PyAny>) -> PyResult<Json> {
    let mut path = Vec::new();
    to_json_at(v, &mut path)
}

/// `path` holds the containers being copied (their addresses), to find cycles.
fn to_json_at(v: &Bound<'_, PyAny>, path: &mut Vec<usize>) -> PyResult<Json> {
    if v.is_none() {
        return Ok(Json::Null);
    }
    if let Ok(b) = v.cast::<PyBool>() {
        return Ok(Json::Bool(b.is_true()));
    }
    if v.is_instance_of::<PyInt>() {
        let i: i128 = v.extract().map_err(|_| PyTypeError::new_err("integer out of range for JavaScript"))?;
        if !(-EXACT..=EXACT).contains(&i) {
            return Err(PyTypeError::new_err(format!(
                "integer {i} is beyond 2^53 and has no exact JavaScript number (pass it as a str)"
            )));
        }
        return Ok(Json::Number(Number::from(i as i64)));
    }
    if let Ok(f) = v.cast::<PyFloat>() {
        let x = f.value();
        return Number::from_f64(x)
            .map(Json::Number)
            .ok_or_else(|| PyTypeError::new_err(format!("{x} has no JSON form")));
    }
    if let Ok(s) = v.cast::<PyString>() {
        return Ok(Json::String(s.to_cow()?.into_owned()));
    }
    let is_list = v.is_instance_of::<PyList>() || v.is_instance_of::<PyTuple>();
    let is_dict = v.is_instance_of::<PyDict>();
    if !is_list && !is_dict {
        let ty = v.get_type().name().map(|n| n.to_string()).unwrap_or_else(|_| "?".into());
        return Err(PyTypeError::new_err(format!("values of type {ty} cannot be copied into the sandbox")));
    }
    let id = v.as_ptr() as usize;
    if path.contains(&id) {
        return Err(PyTypeError::new_err("the value contains a cycle"));
    }
    if path.len() >= sandvm::MAX_JSON_DEPTH {
        return Err(PyTypeError::new_err(format!("nested deeper than {} levels", sandvm::MAX_JSON_DEPTH)));
    }
    path.push(id);
    let out = if is_list {
        let mut items = Vec::new();
        for item in v.try_iter()? {
            items.push(to_json_at(&item?, path)?);
        }
        Json::Array(items)
    } else {
        let d = v.cast::<PyDict>()?;
        let mut map = Map::new();
        for (k, item) in d.iter() {
            let key =
                k.cast::<PyString>().map_err(|_| PyTypeError::new_err("dict keys must be str"))?.to_cow()?.into_owned();
            let child = to_json_at(&item, path)?;
            map.insert(key, child);
        }
        Json::Object(map)
    };
    path.pop();
    Ok(out)
}

/// Copies a JSON value into a new Python value (`int` for integral numbers, `float` otherwise).
///
/// # Errors
/// Only when Python cannot allocate.
pub fn to_py<'py>(py: Python<'py>, v: &Json) -> PyResult<Bound<'py, PyAny>> {
    Ok(match v {
        Json::Null => py.None().into_bound(py),
        Json::Bool(b) => PyBool::new(py, *b).to_owned().into_any(),
        Json::Number(n) => {
            // Guest numbers are doubles: integers beyond 2^53 come back as the float they are.
            if let Some(i) = n.as_i64().filter(|i| i128::from(*i).abs() <= EXACT) {
                i.into_pyobject(py)?.into_any()
            } else {
                PyFloat::new(py, n.as_f64().unwrap_or(f64::NAN)).into_any()
            }
        }
        Json::String(s) => PyString::new(py, s).into_any(),
        Json::Array(a) => {
            let list = PyList::empty(py);
            for item in a {
                list.append(to_py(py, item)?)?;
            }
            list.into_any()
        }
        Json::Object(o) => {
            let d = PyDict::new(py);
            for (k, item) in o {
                d.set_item(k, to_py(py, item)?)?;
            }
            d.into_any()
        }
    })
}
