package server_test

import (
	"bytes"
	"cmp"
	"errors"
	"io"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.yaml.in/yaml/v3"

	"github.com/messenger-go/messenger/internal/server"
)

// k8sObject is the part of a rendered manifest the test reads.
type k8sObject struct {
	Kind     string `yaml:"kind"`
	Metadata struct {
		Name string `yaml:"name"`
	} `yaml:"metadata"`
	Data map[string]string `yaml:"data"`
	Spec struct {
		MinReplicas    int `yaml:"minReplicas"`
		MaxUnavailable int `yaml:"maxUnavailable"`
		Selector       struct {
			MatchLabels map[string]string `yaml:"matchLabels"`
		} `yaml:"selector"`
		ScaleTargetRef struct {
			Kind string `yaml:"kind"`
			Name string `yaml:"name"`
		} `yaml:"scaleTargetRef"`
		Template struct {
			Metadata struct {
				Labels map[string]string `yaml:"labels"`
			} `yaml:"metadata"`
			Spec struct {
				TerminationGracePeriodSeconds int `yaml:"terminationGracePeriodSeconds"`
				Containers                    []struct {
					EnvFrom []struct {
						ConfigMapRef *struct{ Name string } `yaml:"configMapRef"`
					} `yaml:"envFrom"`
					Env []struct {
						Name      string `yaml:"name"`
						ValueFrom *struct {
							SecretKeyRef *struct{ Name string } `yaml:"secretKeyRef"`
						} `yaml:"valueFrom"`
					} `yaml:"env"`
					LivenessProbe  probe `yaml:"livenessProbe"`
					ReadinessProbe probe `yaml:"readinessProbe"`
					Lifecycle      struct {
						PreStop struct {
							Sleep struct {
								Seconds int `yaml:"seconds"`
							} `yaml:"sleep"`
						} `yaml:"preStop"`
					} `yaml:"lifecycle"`
				} `yaml:"containers"`
			} `yaml:"spec"`
		} `yaml:"template"`
	} `yaml:"spec"`
}

type probe struct {
	HTTPGet struct {
		Path string `yaml:"path"`
		Port string `yaml:"port"`
	} `yaml:"httpGet"`
}

// TestKubernetesManifests validates every kustomization with kubeconform
// against the vendored schemas, then reads the base: probes on /readyz and
// /healthz, a grace period longer than the preStop pause plus the shutdown
// timeout, configuration from the ConfigMap (a valid production
// configuration of this binary) and Secrets, a PodDisruptionBudget and a
// HorizontalPodAutoscaler on the Deployment.
func TestKubernetesManifests(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test: builds kustomize and kubeconform; skipped by -short")
	}
	script := repoFile("scripts", "k8s.sh")
	out, err := exec.Command("bash", script, "check").CombinedOutput()
	require.NoError(t, err, "%s", out)
	assert.Contains(t, string(out), "deploy/k8s/base: Summary: 8 resources found parsing stdin - Valid: 8, Invalid: 0, Errors: 0, Skipped: 0")
	assert.Contains(t, string(out), "deploy/k8s/overlays/production: Summary: 8 resources found")

	rendered, err := exec.Command("bash", script, "build", "deploy/k8s/base").Output()
	require.NoError(t, err)
	objs := map[string]k8sObject{}
	dec := yaml.NewDecoder(bytes.NewReader(rendered))
	for {
		var o k8sObject
		err := dec.Decode(&o)
		if errors.Is(err, io.EOF) {
			break
		}
		require.NoError(t, err)
		objs[o.Kind] = o
	}
	for _, kind := range []string{"Deployment", "Service", "PodDisruptionBudget", "HorizontalPodAutoscaler", "ConfigMap", "Secret"} {
		require.Contains(t, objs, kind)
	}

	cm := objs["ConfigMap"].Data
	secretEnv := map[string]string{"DB_USER": "app", "DB_PASSWORD": "from the secret", "REDIS_PASSWORD": "from the secret"}
	cfg, err := server.LoadConfig(func(k string) string { return cmp.Or(secretEnv[k], cm[k]) })
	require.NoError(t, err, "the ConfigMap (with the Secret's values) is a valid configuration")
	assert.True(t, cfg.Production, "NODE_ENV=production: a missing dependency fails the start")
	assert.Equal(t, ":9464", cfg.MetricsAddr, "the metrics listener is reachable by Prometheus")

	dep := objs["Deployment"]
	require.Len(t, dep.Spec.Template.Spec.Containers, 1)
	c := dep.Spec.Template.Spec.Containers[0]
	assert.Equal(t, "/healthz", c.LivenessProbe.HTTPGet.Path)
	assert.Equal(t, "/readyz", c.ReadinessProbe.HTTPGet.Path)
	grace := time.Duration(dep.Spec.Template.Spec.TerminationGracePeriodSeconds) * time.Second
	preStop := time.Duration(c.Lifecycle.PreStop.Sleep.Seconds) * time.Second
	assert.Greater(t, grace, preStop+cfg.ShutdownTimeout, "the kill comes after the graceful shutdown's deadline")
	require.Len(t, c.EnvFrom, 1)
	assert.Equal(t, "messenger-config", c.EnvFrom[0].ConfigMapRef.Name)
	secrets := map[string]string{}
	for _, e := range c.Env {
		if e.ValueFrom != nil && e.ValueFrom.SecretKeyRef != nil {
			secrets[e.Name] = e.ValueFrom.SecretKeyRef.Name
		}
	}
	assert.Equal(t, map[string]string{"DB_USER": "messenger-db-app", "DB_PASSWORD": "messenger-db-app", "REDIS_PASSWORD": "messenger-secrets"}, secrets)
	for _, k := range []string{"DB_PASSWORD", "REDIS_PASSWORD"} {
		assert.NotContains(t, cm, k, "secrets stay out of the ConfigMap")
	}

	labels := dep.Spec.Template.Metadata.Labels
	for _, kind := range []string{"Deployment", "PodDisruptionBudget"} {
		sel := objs[kind].Spec.Selector.MatchLabels
		require.NotEmpty(t, sel, kind)
		for k, v := range sel {
			assert.Equal(t, v, labels[k], "%s selects the pods", kind)
		}
	}
	assert.Equal(t, 1, objs["PodDisruptionBudget"].Spec.MaxUnavailable)
	hpa := objs["HorizontalPodAutoscaler"].Spec
	assert.Equal(t, "Deployment", hpa.ScaleTargetRef.Kind)
	assert.Equal(t, "messenger", hpa.ScaleTargetRef.Name)
	assert.GreaterOrEqual(t, hpa.MinReplicas, 2, "a node can fail without an outage")
	assert.True(t, strings.Contains(string(rendered), "prometheus.io/port: \"9464\""), "the pods announce their metrics port")
}
