package iqoption

import (
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"

	"github.com/stc-trading/stc/sdk/broker"
)

func TestOrderErrorMapping(t *testing.T) {
	cases := []struct {
		status int
		msg    string
		want   error
	}{
		{4000, "invalid request", broker.ErrInvalidOrder},
		{4119, "Cannot purchase an option (active is suspended)", broker.ErrMarketClosed},
		{4119, "ไม่สามารถซื้อออปชั่นได้ (สินทรัพย์ถูกระงับ)", broker.ErrMarketClosed}, // localised: the status decides
		{4000, "Time for purchasing options is over, please try again later.", broker.ErrMarketClosed},
		{4000, "Cannot purchase an option (the asset is not available at the moment).", broker.ErrMarketClosed},
		{4000, "active_suspended: rejected by risks", broker.ErrMarketClosed},
		{4000, "rejected by risks", broker.ErrInvalidOrder},
		{4000, "No money on the balance", broker.ErrInsufficientFunds},
		{4000, "Недостаточно средств", broker.ErrInvalidOrder}, // unknown localised text: the status decides
		{4103, "", broker.ErrMarketClosed},
		{5000, "asset closed", broker.ErrMarketClosed},
		{4999, "something new", broker.ErrInvalidOrder},
		{0, `"reason"`, broker.ErrInvalidOrder}, // a failed result frame
	}
	for _, c := range cases {
		in := &apiError{Status: c.status, Name: "option", Message: c.msg}
		err := orderError(in)
		assert.ErrorIs(t, err, c.want, "%d %q", c.status, c.msg)
		var ae *apiError
		assert.True(t, errors.As(err, &ae), "the server's answer stays inspectable")
		assert.Equal(t, broker.Reason(c.want), broker.Reason(err))
	}
	plain := errors.New("boom")
	assert.Same(t, plain, orderError(plain))
}

func TestRejectKind(t *testing.T) {
	assert.ErrorIs(t, rejectKind("no_money"), broker.ErrInsufficientFunds)
	assert.ErrorIs(t, rejectKind("rejected_by_risks"), broker.ErrInvalidOrder)
	assert.ErrorIs(t, rejectKind("active_suspended"), broker.ErrMarketClosed)
}

func TestClassifyLogin(t *testing.T) {
	var limited loginAnswer
	limited.Data.TTL = 1894
	limited.Errors = append(limited.Errors, struct {
		Code  flexInt    `json:"code"`
		Title flexString `json:"title"`
	}{301, "Login limit exceeded"})
	err := classifyLogin(http.StatusTooManyRequests, limited)
	assert.ErrorIs(t, err, broker.ErrRateLimited)
	d, ok := broker.RetryAfter(err)
	assert.True(t, ok)
	assert.Equal(t, 1894*time.Second, d)

	legacy := loginAnswer{}
	legacy.Errors = append(legacy.Errors, struct {
		Code  flexInt    `json:"code"`
		Title flexString `json:"title"`
	}{202, "Invalid credentials"})
	assert.ErrorIs(t, classifyLogin(http.StatusForbidden, legacy), broker.ErrAuthFailed)
	assert.ErrorIs(t, classifyLogin(http.StatusUnauthorized, loginAnswer{Code: "invalid_credentials", Message: "You entered the wrong credentials."}), broker.ErrAuthFailed)
	assert.ErrorIs(t, classifyLogin(http.StatusBadGateway, loginAnswer{}), broker.ErrUnavailable)
	assert.NoError(t, classifyLogin(http.StatusOK, loginAnswer{Code: "success", SSID: "x"}))
	assert.NoError(t, classifyLogin(http.StatusOK, loginAnswer{Code: "verify", Token: "t"}))
}
