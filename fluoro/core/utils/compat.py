"""Small helpers that upstream keeps in ``utils/compat.py``."""


annotation_value_types = (int, float, bool, str)
string_types = str


def is_classmethod(func: object) -> bool:
    return getattr(func, "__self__", None) is not None


def is_instance_method(parent_class: type, func_name: str, func: object) -> bool:
    try:
        func_from_dict = parent_class.__dict__[func_name]
    except KeyError:
        for base in parent_class.__mro__:
            if func_name in base.__dict__:
                func_from_dict = base.__dict__[func_name]
                break
        else:
            return True
    return not isinstance(func_from_dict, (staticmethod, classmethod))
