"""Safe evaluation of plain arithmetic (numbers, + - * / ** and signs) from a parsed ``ast``: the one
evaluator behind the rules annotator's slip check and the answer timeline's "so ... = N" values."""
from __future__ import annotations

import ast
import operator

_OPS = {ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul, ast.Div: operator.truediv,
        ast.Pow: operator.pow, ast.USub: operator.neg, ast.UAdd: operator.pos}


def evaluate(node: ast.AST) -> float:
    """The value of ``node`` (an ``ast.Expression`` or an expression node); ValueError for anything that is
    not plain arithmetic, and for powers too big to be a claim worth checking (|exponent| > 64 or
    |base| > 1e6); ZeroDivisionError as Python raises it."""
    if isinstance(node, ast.Expression):
        return evaluate(node.body)
    if isinstance(node, ast.Constant) and isinstance(node.value, (int, float)):
        return node.value
    if isinstance(node, ast.BinOp) and type(node.op) in _OPS:
        left, right = evaluate(node.left), evaluate(node.right)
        if isinstance(node.op, ast.Pow) and (abs(right) > 64 or abs(left) > 1e6):
            raise ValueError("too big")
        return _OPS[type(node.op)](left, right)
    if isinstance(node, ast.UnaryOp) and type(node.op) in _OPS:
        return _OPS[type(node.op)](evaluate(node.operand))
    raise ValueError("not arithmetic")
