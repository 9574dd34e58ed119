"""The pages' forms: Django checks them (required fields, lengths) with its Chinese messages."""

from __future__ import annotations

from typing import Any

from django import forms


class LoginForm(forms.Form):
    name = forms.CharField(label="账户名", max_length=64)
    password = forms.CharField(label="密码", max_length=256, strip=False, widget=forms.PasswordInput)


class PasswordForm(forms.Form):
    old = forms.CharField(label="原密码", max_length=256, strip=False, widget=forms.PasswordInput)
    new = forms.CharField(label="新密码", max_length=256, strip=False, widget=forms.PasswordInput)
    again = forms.CharField(label="再输入一次新密码", max_length=256, strip=False, widget=forms.PasswordInput)

    def clean(self) -> dict[str, Any] | None:
        data = super().clean()
        if data and data.get("new") != data.get("again"):
            self.add_error("again", "两次输入的新密码不一致。")
        return data
