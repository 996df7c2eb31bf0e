"""The identifiable store: names, NHS numbers and contact details needed for direct care
or direct contact (virtual-ward patients, programme participants), in a database of its
own. It is read only by roles with a named permission, and every read is audited.
"""
