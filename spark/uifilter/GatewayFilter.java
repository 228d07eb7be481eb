package hearth.spark.ui;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.Base64;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;
import javax.servlet.DispatcherType;
import javax.servlet.Filter;
import javax.servlet.FilterChain;
import javax.servlet.FilterConfig;
import javax.servlet.ServletException;
import javax.servlet.ServletRequest;
import javax.servlet.ServletResponse;
import javax.servlet.http.HttpServletRequest;
import javax.servlet.http.HttpServletResponse;

/**
 * Hearth's UI filter for Spark 3.x (javax.servlet), which has no JWSFilter: it lets a request
 * through only if it carries "Authorization: Bearer <JWS>", an HS256 JWS signed with the
 * cluster's UI key and not expired. Spark 4's org.apache.spark.ui.JWSFilter checks the same
 * tokens, so Hearth's gateway signs one way for both.
 *
 * <pre>
 *   spark.ui.filters=hearth.spark.ui.GatewayFilter
 *   spark.hearth.spark.ui.GatewayFilter.param.secretKey=&lt;base64url of 32 bytes&gt;
 * </pre>
 *
 * Built by `make ui-filter` into hearth-ui-filter.jar (with this source inside), which Hearth
 * embeds and puts on the classpath of Spark 3 daemons and drivers.
 */
public class GatewayFilter implements Filter {
  private static final Base64.Decoder B64URL = Base64.getUrlDecoder();
  private static final Pattern ALG_HS256 = Pattern.compile("\"alg\"\\s*:\\s*\"HS256\"");
  private static final Pattern EXP = Pattern.compile("\"exp\"\\s*:\\s*([0-9]+)");

  private SecretKeySpec key;

  @Override
  public void init(FilterConfig config) throws ServletException {
    String encoded = config.getInitParameter("secretKey");
    byte[] raw;
    try {
      raw = encoded == null ? new byte[0] : B64URL.decode(encoded.trim());
    } catch (IllegalArgumentException e) {
      raw = new byte[0];
    }
    if (raw.length < 32) {
      throw new ServletException("hearth GatewayFilter: secretKey must be base64url of at least 32 bytes");
    }
    key = new SecretKeySpec(raw, "HmacSHA256");
  }

  @Override
  public void doFilter(ServletRequest req, ServletResponse res, FilterChain chain)
      throws IOException, ServletException {
    // Spark maps filters to every dispatcher type; forwards and error pages descend from a
    // request already checked.
    if (req.getDispatcherType() == DispatcherType.REQUEST
        && !valid(((HttpServletRequest) req).getHeader("Authorization"), System.currentTimeMillis())) {
      HttpServletResponse hres = (HttpServletResponse) res;
      hres.setHeader("Cache-Control", "no-store");
      hres.sendError(HttpServletResponse.SC_FORBIDDEN, "this Spark UI answers only the Hearth gateway");
      return;
    }
    chain.doFilter(req, res);
  }

  /** Reports whether authorization is "Bearer " and a valid, unexpired HS256 JWS. */
  boolean valid(String authorization, long nowMillis) {
    if (authorization == null || !authorization.startsWith("Bearer ")) {
      return false;
    }
    String[] parts = authorization.substring(7).trim().split("\\.", -1);
    if (parts.length != 3) {
      return false;
    }
    try {
      Mac mac = Mac.getInstance("HmacSHA256");
      mac.init(key);
      byte[] want = mac.doFinal((parts[0] + "." + parts[1]).getBytes(StandardCharsets.US_ASCII));
      if (!MessageDigest.isEqual(want, B64URL.decode(parts[2]))) {
        return false;
      }
      String header = new String(B64URL.decode(parts[0]), StandardCharsets.UTF_8);
      if (!ALG_HS256.matcher(header).find()) {
        return false;
      }
      Matcher exp = EXP.matcher(new String(B64URL.decode(parts[1]), StandardCharsets.UTF_8));
      return exp.find() && nowMillis < Long.parseLong(exp.group(1)) * 1000L;
    } catch (Exception e) {
      return false;
    }
  }

  @Override
  public void destroy() {}
}
